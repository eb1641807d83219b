// --print-config: the effective configuration written back as the TOML the file layer reads.
#include "config/config.hpp"
#include "config/directives.hpp"
#include "config/input.hpp"
#include "config/redis_url.hpp"

#include <prefork/version.hpp>

#include <charconv>
#include <cmath>
#include <string_view>

namespace prefork::config {
namespace {

constexpr const char* hidden = "\"***\"";

bool is_password(std::string_view key) {
  return key == "redis.password" || key == "redis.sentinel_password";
}

// TOML's bare keys; any other [app] key is quoted. A dotted name is written as one quoted key:
// the file layer flattens it to the same name as the nested tables it came from.
std::string key_text(const std::string& key) {
  bool bare = !key.empty();
  for (char c : key) {
    bare = bare && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-');
  }
  return bare ? key : quoted(key);
}

// A TOML float, never an integer: the file layer would read "1" back as one.
std::string float_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  std::string written(text, error == std::errc() ? end : text);
  if (written.find_first_of(".e") == std::string::npos) written += ".0";
  return written;
}

std::string app_value_text(const AppConfig::Value& value) {
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const std::int64_t* integer = std::get_if<std::int64_t>(&value))
    return std::to_string(*integer);
  if (const double* number = std::get_if<double>(&value)) return float_text(*number);
  return quoted(std::get<std::string>(value));
}

}  // namespace

std::string value_text(const Directive& directive, const Config& config) {
  std::string text = directive.show(config);
  if (is_description(text)) return text;
  if (is_password(directive.key)) return hidden;
  if (directive.key == "redis.url") return quoted(redact_password(config.redis.url));
  return text;
}

std::string printed(const Config& config) {
  std::string text = std::string("# prefork ") + version +
                     ": the effective configuration (--print-config); Redis passwords show as " +
                     hidden + ", raw_env and the app's table as they are\n";
  const auto& app_values = config.app_config.values();
  for (const Directive& directive : directives()) {
    if (directive.key.empty()) continue;
    std::string value = value_text(directive, config);
    std::string line = std::string(directive.key) + " = " + value;
    if (is_description(value)) {
      line = "# " + line;
    } else if (directive.key == "app" && !app_values.empty()) {
      line =
          "# " + line + " (give it with --app: TOML cannot hold both a key app and a table [app])";
    }
    text += line + "\n";
  }
  if (app_values.empty()) return text;
  text += "\n[app]\n";
  for (const auto& [key, value] : app_values)
    text += key_text(key) + " = " + app_value_text(value) + "\n";
  return text;
}

}  // namespace prefork::config
