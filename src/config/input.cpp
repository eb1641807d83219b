#include "config/input.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/text.hpp"

namespace prefork::config {
namespace {

Status expected(const char* what, const Input& input) {
  if (input.type == Input::Type::text)
    return Status::error(std::string("expected ") + what + ", got " + quoted(input.string));
  return Status::error(std::string("expected ") + what + ", got " + describe(input.type));
}

}  // namespace

const char* describe(Input::Type type) {
  switch (type) {
    case Input::Type::text:
      return "text";
    case Input::Type::boolean:
      return "a boolean";
    case Input::Type::integer:
      return "an integer";
    case Input::Type::number:
      return "a float";
    case Input::Type::string:
      return "a string";
    case Input::Type::array:
      return "an array";
    case Input::Type::table:
      return "a table";
    case Input::Type::datetime:
      return "a date or time";
  }
  return "a value";
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", unsigned(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Status read_integer(const Input& input, std::int64_t& out) {
  if (input.type == Input::Type::integer) {
    out = input.integer;
    return {};
  }
  if (input.type != Input::Type::text) return expected("an integer", input);
  const char* first = input.string.data();
  const char* last = first + input.string.size();
  auto [end, error] = std::from_chars(first, last, out);
  if (error == std::errc::result_out_of_range)
    return Status::error("integer out of range: " + quoted(input.string));
  if (error != std::errc() || end != last || first == last) return expected("an integer", input);
  return {};
}

Status read_integer_in_any_base(const Input& input, std::int64_t& out) {
  if (input.type == Input::Type::integer) {
    out = input.integer;
    return {};
  }
  if (input.type != Input::Type::text && input.type != Input::Type::string)
    return expected("an integer", input);
  std::string_view digits = input.string;
  int base = 10;
  if (digits.size() > 1 && digits[0] == '0') {
    char prefix = ascii_lower(digits[1]);
    base = prefix == 'x' ? 16 : prefix == 'b' ? 2 : 8;
    digits.remove_prefix(prefix == 'x' || prefix == 'o' || prefix == 'b' ? 2 : 1);
  }
  const char* last = digits.data() + digits.size();
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), last, value, base);
  if (error == std::errc::result_out_of_range)
    return Status::error("integer out of range: " + quoted(input.string));
  if (error != std::errc() || end != last || digits.empty() || digits[0] == '-') {
    return Status::error("expected an integer (18, 0o22, 022 or 0x12), got " +
                         quoted(input.string));
  }
  out = value;
  return {};
}

Status read_number(const Input& input, double& out) {
  if (input.type == Input::Type::integer) {
    out = double(input.integer);
    return {};
  }
  if (input.type == Input::Type::number) {
    if (!std::isfinite(input.number))
      return Status::error("expected a finite number, got " + std::to_string(input.number));
    out = input.number;
    return {};
  }
  if (input.type != Input::Type::text) return expected("a number", input);
  const char* first = input.string.c_str();
  char* end = nullptr;
  double value = std::strtod(first, &end);
  if (input.string.empty() || std::isspace(static_cast<unsigned char>(input.string[0])) ||
      end != first + input.string.size() || !std::isfinite(value)) {
    return expected("a number", input);
  }
  out = value;
  return {};
}

Status read_boolean(const Input& input, bool& out) {
  if (input.type == Input::Type::boolean) {
    out = input.boolean;
    return {};
  }
  if (input.type != Input::Type::text) return expected("a boolean", input);
  std::string word = to_lower(input.string);
  if (word == "true" || word == "1" || word == "yes" || word == "on") {
    out = true;
  } else if (word == "false" || word == "0" || word == "no" || word == "off" || word.empty()) {
    out = false;
  } else {
    return expected("a boolean (true/false, 1/0, yes/no, on/off)", input);
  }
  return {};
}

Status read_string(const Input& input, std::string& out) {
  if (input.type != Input::Type::text && input.type != Input::Type::string) {
    return expected("a string", input);
  }
  out = input.string;
  return {};
}

Status read_strings(const Input& input, std::vector<std::string>& out) {
  if (input.type == Input::Type::text || input.type == Input::Type::string) {
    out = {input.string};
    return {};
  }
  if (input.type != Input::Type::array) return expected("a string or an array of strings", input);
  std::vector<std::string> strings;
  for (const Input& item : input.items) {
    if (item.type != Input::Type::string && item.type != Input::Type::text) {
      return Status::error(std::string("expected an array of strings, got an array containing ") +
                           describe(item.type));
    }
    strings.push_back(item.string);
  }
  out = std::move(strings);
  return {};
}

}  // namespace prefork::config
