// Programs some tests run beside prefork: a shell command's output, and promtool.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace prefork::testing {

// Runs a shell command; stdout and stderr go to output. Returns its exit status, -1 when it
// did not exit.
inline int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buffer[4096];
  std::size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// PREFORK_PROMTOOL, else PATH (Debian's prometheus package), else what
// scripts/install-promtool unpacked under source_root; "" when there is none.
inline std::string promtool_path(const std::string& source_root) {
  if (const char* configured = getenv("PREFORK_PROMTOOL"); configured && *configured) {
    return access(configured, X_OK) == 0 ? configured : "";
  }
  std::string output;
  if (run_command("command -v promtool", output) == 0 && !output.empty()) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }
  const std::string unpacked = source_root + "/.tools/prometheus/usr/bin/promtool";
  return access(unpacked.c_str(), X_OK) == 0 ? unpacked : "";
}

}  // namespace prefork::testing
