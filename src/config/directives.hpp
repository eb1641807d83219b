// Every setting once: its TOML key, env name, command-line flag, checker and how its value
// prints (the default itself lives once, in config.hpp).
// The file, environment and command-line layers all apply settings through this table.
#pragma once

#include "config/config.hpp"
#include "config/input.hpp"

#include <span>
#include <string_view>

namespace prefork::config {

struct Directive {
  std::string_view key;      // TOML key, "redis.port" inside [redis]; "" for flags only
  std::string_view env;      // environment variable, "" when none
  std::string_view flag;     // long flag without "--", "" when none
  char short_flag;           // 0 when none
  std::string_view metavar;  // the flag's argument ("N"); "" for a switch
  bool repeatable;           // command-line occurrences add up instead of replacing
  std::string (*show)(const Config& config);  // the setting's value in config, as written
  std::string_view meaning;
  Status (*apply)(Config& config, const Input& input);
  std::string_view alias = {};  // a second long flag, as gunicorn spells it; "" when none
};

std::span<const Directive> directives();

// The value a directive has in a default Config, as a user would write it ("30", "\"info\"").
std::string default_text(const Directive& directive);

// True for what show() prints for a value that is unset or filled in from the machine ("none",
// "number of CPUs", "a private temp dir"): words, not a TOML value.
bool is_description(std::string_view shown);

// The value of a directive in config as --print-config writes it: show()'s, with passwords
// (and the one in redis.url) as "***".
std::string value_text(const Directive& directive, const Config& config);

const Directive* find_by_key(std::string_view key);
// The flag or its alias.
const Directive* find_by_flag(std::string_view flag);
const Directive* find_by_short_flag(char flag);

}  // namespace prefork::config
