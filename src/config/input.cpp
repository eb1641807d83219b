#include "config/input.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
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
    if (c == '"' || c == '\\') out += '\\';
    out += c;
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
  } else if (word == "false" || word == "0" || word == "no" || word == "off") {
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
