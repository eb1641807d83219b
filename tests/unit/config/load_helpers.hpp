// Runs config::load on argument and environment lists, writes TOML files to a temp dir, and
// parses bind addresses.
#pragma once

#include "config/bind.hpp"
#include "config/config.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace prefork::config::testing {

// parse_bind's result for text, which must parse.
inline Bind bound(const std::string& text) {
  Bind bind;
  prefork::Status status = parse_bind(text, bind);
  INFO(status.message());
  REQUIRE(status.ok());
  return bind;
}

// parse_bind's complaint about text, which must not parse.
inline std::string problem_of(const std::string& text) {
  Bind bind;
  prefork::Status status = parse_bind(text, bind);
  REQUIRE_FALSE(status.ok());
  return status.message();
}

inline LoadResult load_with(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), "prefork");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  for (const std::string& entry : env) envp.push_back(entry.c_str());
  envp.push_back(nullptr);
  return load(int(args.size()), argv.data(), envp.data());
}

inline Config loaded(std::vector<std::string> args, std::vector<std::string> env = {}) {
  LoadResult result = load_with(std::move(args), std::move(env));
  INFO(result.message);
  REQUIRE(result.config.has_value());
  return *result.config;
}

inline std::string error_of(std::vector<std::string> args, std::vector<std::string> env = {}) {
  LoadResult result = load_with(std::move(args), std::move(env));
  CHECK_FALSE(result.config.has_value());
  CHECK(result.exit_code == 2);
  return result.message;
}

// A TOML file in a fresh temporary directory, removed with the directory at scope exit.
class TomlFile {
 public:
  explicit TomlFile(const std::string& text) {
    char pattern[] = "/tmp/prefork-config-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    directory_ = pattern;
    path_ = directory_ + "/test.toml";
    std::ofstream(path_) << text;
  }
  ~TomlFile() {
    unlink(path_.c_str());
    rmdir(directory_.c_str());
  }
  TomlFile(const TomlFile&) = delete;
  TomlFile& operator=(const TomlFile&) = delete;

  const std::string& path() const { return path_; }
  // The start every error about this file has: "PATH:LINE: ".
  std::string at(int line) const { return path_ + ":" + std::to_string(line) + ": "; }
  void rewrite(const std::string& text) const { std::ofstream(path_) << text; }

 private:
  std::string directory_;
  std::string path_;
};

}  // namespace prefork::config::testing
