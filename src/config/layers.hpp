// The three sources of settings. Each applies what it holds through the directive table and
// appends one "WHERE: KEY: what is wrong" line per bad setting to errors.
#pragma once

#include "config/config.hpp"
#include "config/directives.hpp"

#include <string>
#include <vector>

namespace prefork::config {

// Lines read "FILE:LINE: KEY: what is wrong", in file order.
void apply_file(const std::string& path, Config& config, std::vector<std::string>& errors);

// envp: "NAME=value" strings, null-terminated; may be null. Lines read "environment: NAME: …".
void apply_environment(const char* const* envp, Config& config, std::vector<std::string>& errors);

struct CommandLine {
  enum class Request { run, help, version };
  struct Setting {
    const Directive* directive;
    Input input;
  };
  Request request = Request::run;
  std::vector<Setting> settings;  // repeatable flags are merged into one array setting
  std::string config_file;        // from -c, "" when absent
  Status usage;                   // a bad flag, a missing value, a stray argument
};

CommandLine parse_command_line(int argc, const char* const* argv);

// Lines read "command line: --flag: …".
void apply_command_line(const CommandLine& command_line, Config& config,
                        std::vector<std::string>& errors);

std::string help_text();

}  // namespace prefork::config
