// Helpers of the file storage tests: a private directory, tools found on the machine, and
// running a command with its output captured.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/tools.hpp"

namespace file_test {

// A fresh directory under /tmp, removed with its files at the end of the scope.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    char pattern[] = "/tmp/prefork-file-test-XXXXXX";
    path_ = mkdtemp(pattern) ? pattern : "";
  }
  ~TemporaryDirectory() {
    for (const std::string& name : files()) unlink((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const {
    return access((path_ + "/" + name).c_str(), F_OK) == 0;
  }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    if (DIR* listing = opendir(path_.c_str())) {
      while (const dirent* entry = readdir(listing)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      closedir(listing);
    }
    return names;
  }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  std::ostringstream text;
  text << input.rdbuf();
  return text.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline bool is_directory(const std::string& path) {
  struct stat status;
  return stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

inline bool is_executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

inline int run(const std::string& command, std::string& output) {
  return prefork::testing::run_command(command, output);
}

// The prometheus_client copy of /work/shared: PREFORK_PYCLIENT, else ../shared/pyclient next
// to the source tree. Empty when absent (with python3 missing too).
inline std::string pyclient_path() {
  const char* configured = getenv("PREFORK_PYCLIENT");
  std::string path = configured && *configured
                         ? configured
                         : std::string(PREFORK_SOURCE_ROOT) + "/../shared/pyclient";
  if (!is_directory(path + "/prometheus_client")) return "";
  std::string output;
  if (run("python3 -c 'import sys'", output) != 0) return "";
  return path;
}

}  // namespace file_test
