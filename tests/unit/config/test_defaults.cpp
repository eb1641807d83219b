// Each default is written once, in config.hpp: the help text, the README's option table and a
// TOML file of every printed default all agree with the value of a default Config.
#include "load_helpers.hpp"

#include "config/directives.hpp"
#include "config/layers.hpp"

#include <cstdlib>
#include <map>
#include <sstream>

using namespace prefork::config;
using namespace prefork::config::testing;

namespace {

std::string name_of(const Directive& directive) {
  return std::string(directive.key.empty() ? directive.flag : directive.key);
}

// The README's option table: the name column and the default column, without backquotes.
std::map<std::string, std::string> readme_defaults() {
  const char* root = std::getenv("PREFORK_SOURCE_ROOT");
  REQUIRE_MESSAGE(root != nullptr, "the meson test sets PREFORK_SOURCE_ROOT");
  std::ifstream readme(std::string(root) + "/README.md");
  REQUIRE(readme);
  std::map<std::string, std::string> defaults;
  std::string line;
  while (std::getline(readme, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    if (cells.size() != 7 || line.front() != '|') continue;
    auto trimmed = [](std::string text) {
      std::size_t first = text.find_first_not_of(' ');
      if (first == std::string::npos) return std::string();
      text = text.substr(first, text.find_last_not_of(' ') + 1 - first);
      if (text.size() >= 2 && text.front() == '`') text = text.substr(1, text.size() - 2);
      return text;
    };
    defaults[trimmed(cells[1])] = trimmed(cells[5]);
  }
  return defaults;
}

}  // namespace

TEST_CASE("a TOML file of every printed default loads into the default Config") {
  std::string toml;
  for (const Directive& directive : directives()) {
    std::string text = default_text(directive);
    if (directive.key.empty() || is_description(text)) continue;
    toml += std::string(directive.key) + " = " + text + "\n";
  }
  TomlFile file(toml);
  Config config;
  config.workers = 3;
  config.limits.request_line = 1;
  config.redis.port = 1;
  config.metrics.port = 1;
  config.binds.clear();
  std::vector<std::string> errors;
  apply_file(file.path(), config, errors);
  INFO(toml);
  CHECK(errors.empty());
  const Config defaults;
  CHECK(config.limits == defaults.limits);
  CHECK(config.redis == defaults.redis);
  CHECK(config.metrics == defaults.metrics);
  for (const Directive& directive : directives()) {
    if (directive.key.empty() || directive.key == "workers") continue;
    CHECK_MESSAGE(directive.show(config) == default_text(directive), directive.key);
  }
}

TEST_CASE("the printed defaults are the values of a default Config") {
  const Config defaults;
  CHECK(default_text(*find_by_key("timeout")) == "30");
  CHECK(default_text(*find_by_key("bind")) == "\"127.0.0.1:8000\"");
  CHECK(default_text(*find_by_key("umask")) == "0o000");
  CHECK(default_text(*find_by_key("workers")) == "number of CPUs");
  CHECK(default_text(*find_by_key("pidfile")) == "none");
  CHECK(default_text(*find_by_key("redis.command_timeout")) ==
        std::to_string(int(defaults.redis.command_timeout)));
  Config changed;
  changed.limits.header_timeout = 0.25;
  CHECK(find_by_key("header_timeout")->show(changed) == "0.25");
}

TEST_CASE("--help prints each flag's default from the default Config") {
  std::string help = load_with({"--help"}).message;
  for (const Directive& directive : directives()) {
    if (directive.flag.empty()) continue;
    std::string line_start = "--" + std::string(directive.flag) + " ";
    std::size_t at = help.find(line_start);
    REQUIRE(at != std::string::npos);
    std::string line = help.substr(at, help.find('\n', at) - at);
    CHECK_MESSAGE(line.find("[default: " + default_text(directive) + "]") != std::string::npos,
                  line);
  }
}

TEST_CASE("the README's option table shows every directive with its default") {
  std::map<std::string, std::string> readme = readme_defaults();
  for (const Directive& directive : directives()) {
    std::string name = name_of(directive);
    REQUIRE_MESSAGE(readme.count(name) == 1, (name + " is missing from the README option table"));
    CHECK_MESSAGE(readme[name] == default_text(directive), name);
  }
}
