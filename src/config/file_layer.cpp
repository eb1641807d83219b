// The TOML layer: walks the parsed file, sends each key to its directive, flattens [app].
#include "config/layers.hpp"
#include "config/nesting.hpp"

#include <toml.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace prefork::config {
namespace {

using Value = toml::basic_value<toml::discard_comments, std::unordered_map, std::vector>;

struct Located {
  unsigned line;
  std::string message;
};

// A key can be as long as the file; messages show its start and its length.
std::string shortened(const std::string& key) {
  constexpr std::size_t shown = 60;
  if (key.size() <= shown + 20) return key;
  return key.substr(0, shown) + "… (" + std::to_string(key.size()) + " bytes)";
}

struct Walk {
  const std::string& path;
  Config& config;
  std::vector<Located> errors;

  void fail(const Value& value, const std::string& key, const std::string& what) {
    unsigned line = value.location().line();
    errors.push_back(
        {line, path + ":" + std::to_string(line) + ": " + shortened(key) + ": " + what});
  }
};

Input input_of(const Value& value) {
  Input input;
  switch (value.type()) {
    case toml::value_t::boolean:
      input.type = Input::Type::boolean;
      input.boolean = value.as_boolean();
      break;
    case toml::value_t::integer:
      input.type = Input::Type::integer;
      input.integer = value.as_integer();
      break;
    case toml::value_t::floating:
      input.type = Input::Type::number;
      input.number = value.as_floating();
      break;
    case toml::value_t::string:
      input.type = Input::Type::string;
      input.string = value.as_string().str;
      break;
    case toml::value_t::array:
      input.type = Input::Type::array;
      for (const Value& item : value.as_array()) input.items.push_back(input_of(item));
      break;
    case toml::value_t::table:
      input.type = Input::Type::table;
      for (const auto& [key, item] : value.as_table())
        input.entries.emplace_back(key, input_of(item));
      break;
    default:
      input.type = Input::Type::datetime;
      break;
  }
  return input;
}

// Suggests the directive a misspelt key probably meant ("wokers" → "workers").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key(const std::string& key) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (const Directive& directive : directives()) {
    if (directive.key.empty()) continue;
    // The distance is at least the difference in length: a long key is no typo, and skipping
    // it spares an edit distance over a megabyte.
    std::size_t longer = std::max(key.size(), directive.key.size());
    if (longer - std::min(key.size(), directive.key.size()) >= best_distance) continue;
    std::size_t distance = edit_distance(key, directive.key);
    if (distance < best_distance) {
      best = directive.key;
      best_distance = distance;
    }
  }
  if (best.empty()) return "unknown key";
  return "unknown key (did you mean " + std::string(best) + "?)";
}

// table: "" at the root, else "redis" or "metrics".
void apply_setting(Walk& walk, const std::string& table, const std::string& name,
                   const Value& value) {
  std::string key = table.empty() ? name : table + "." + name;
  // A quoted key such as "redis.port" = 1 is one key with a dot in it, not the [redis] setting.
  if (name.find('.') != std::string::npos) {
    std::string quoted_key = table.empty() ? quoted(name) : table + "." + quoted(name);
    if (!find_by_key(key)) return walk.fail(value, quoted_key, "unknown key");
    return walk.fail(value, quoted_key, "unknown key; to set " + key + ", write it without quotes");
  }
  const Directive* directive = find_by_key(key);
  if (!directive) return walk.fail(value, key, unknown_key(key));
  if (Status status = directive->apply(walk.config, input_of(value)); !status.ok()) {
    walk.fail(value, key, status.message());
  }
}

void apply_section(Walk& walk, const std::string& name, const Value& section) {
  if (!section.is_table()) {
    return walk.fail(section, name,
                     std::string("expected a table, got ") + describe(input_of(section).type));
  }
  for (const auto& [key, value] : section.as_table()) apply_setting(walk, name, key, value);
}

void flatten_app(Walk& walk, const std::string& prefix, const Value& table) {
  for (const auto& [key, value] : table.as_table()) {
    std::string name = prefix.empty() ? key : prefix + "." + key;
    switch (value.type()) {
      case toml::value_t::boolean:
        walk.config.app_config.set(name, value.as_boolean());
        break;
      case toml::value_t::integer:
        walk.config.app_config.set(name, std::int64_t(value.as_integer()));
        break;
      case toml::value_t::floating:
        walk.config.app_config.set(name, value.as_floating());
        break;
      case toml::value_t::string:
        walk.config.app_config.set(name, value.as_string().str);
        break;
      case toml::value_t::table:
        flatten_app(walk, name, value);
        break;
      case toml::value_t::array:
        walk.fail(value, "app." + name,
                  "arrays are not supported in [app]; use a table or a string");
        break;
      default:
        walk.fail(value, "app." + name, "dates and times are not supported in [app]; use a string");
        break;
    }
  }
}

void apply_root(Walk& walk, const Value& root) {
  for (const auto& [key, value] : root.as_table()) {
    if (key == "redis" || key == "metrics") {
      apply_section(walk, key, value);
    } else if (key == "app" && value.is_table()) {
      flatten_app(walk, "", value);
    } else {
      apply_setting(walk, "", key, value);
    }
  }
}

// toml11 phrases syntax errors as "[error] toml::parse_x: what\n --> file\n …"; keep the what.
std::string syntax_message(const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));
  auto prefix = first.find("toml::");
  if (prefix != std::string::npos) {
    auto colon = first.find(": ", prefix);
    if (colon != std::string::npos) first = first.substr(colon + 2);
  }
  return "syntax error: " + shortened(first);
}

Result<std::string> read_file(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return Result<std::string>::error(path +
                                      ": cannot read the config file: " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return Result<std::string>::error(path + ": cannot read the config file: not a regular file");
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return Result<std::string>::error(path +
                                      ": cannot read the config file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

Result<Value> parse_toml(const std::string& path, const std::string& text) {
  if (Status nesting = check_nesting(text); !nesting) {
    return Result<Value>::error(path + ":" + nesting.message());
  }
  std::istringstream stream(text);
  try {
    return toml::parse<toml::discard_comments, std::unordered_map, std::vector>(stream, path);
  } catch (const toml::syntax_error& error) {
    return Result<Value>::error(path + ":" + std::to_string(error.location().line()) + ": " +
                                syntax_message(error.what()));
  } catch (const std::exception& error) {
    // toml11 throws more than syntax errors (an integer out of range, an allocation); a reload
    // must report them like any other bad file rather than end the master.
    return Result<Value>::error(path +
                                ": cannot parse the config file: " + shortened(error.what()));
  }
}

}  // namespace

void apply_file(const std::string& path, Config& config, std::vector<std::string>& errors) {
  Result<std::string> text = read_file(path);
  if (!text) {
    errors.push_back(text.message());
    return;
  }
  Result<Value> root = parse_toml(path, *text);
  if (!root) {
    errors.push_back(root.message());
    return;
  }
  Walk walk{path, config, {}};
  apply_root(walk, *root);
  std::stable_sort(walk.errors.begin(), walk.errors.end(),
                   [](const Located& a, const Located& b) { return a.line < b.line; });
  for (Located& error : walk.errors) errors.push_back(std::move(error.message));
}

}  // namespace prefork::config
