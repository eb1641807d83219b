// A setting's value as it arrives, before it is checked: typed from TOML, text from env or CLI.
#pragma once

#include "core/result.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prefork::config {

struct Input {
  // text: env and command line deliver strings that still have to be parsed.
  enum class Type { text, boolean, integer, number, string, array, table, datetime };
  Type type = Type::text;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string string;                                  // text and string
  std::vector<Input> items;                            // array
  std::vector<std::pair<std::string, Input>> entries;  // table (from TOML only)

  static Input text(std::string value) {
    Input input;
    input.string = std::move(value);
    return input;
  }
};

// Each read_ fills out, or says what is wrong with the value ("expected an integer, got a
// string") and leaves out as it was.
Status read_integer(const Input& input, std::int64_t& out);
// An integer as gunicorn reads one written in any base (its auto_int, Python's int(text, 0)):
// 0o22, 0x12, 0b10010 or 18, and a leading 0 for octal ("022"). A TOML integer is taken as is.
Status read_integer_in_any_base(const Input& input, std::int64_t& out);
Status read_number(const Input& input, double& out);
// true/false/1/0/yes/no/on/off in any case for text (the exporter takes true/1/yes/on as true),
// and "" as false, as the exporter reads a variable set to nothing (REDIS_ENABLED=).
Status read_boolean(const Input& input, bool& out);
Status read_string(const Input& input, std::string& out);
// One string or an array of strings.
Status read_strings(const Input& input, std::vector<std::string>& out);

// "an integer", "a string", … for messages.
const char* describe(Input::Type type);
// The text quoted as a TOML basic string, for messages and --print-config: "abc" with quotes,
// backslashes and control characters escaped.
std::string quoted(const std::string& text);

}  // namespace prefork::config
