// Programs some tests run beside prefork: a shell command's output, promtool and prometheus.
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

// A program of Debian's prometheus package: the one the environment variable names, else PATH,
// else what scripts/install-prometheus unpacked under source_root; "" when there is none.
inline std::string prometheus_program(const std::string& name, const char* variable,
                                      const std::string& source_root) {
  if (const char* configured = getenv(variable); configured && *configured) {
    return access(configured, X_OK) == 0 ? configured : "";
  }
  std::string output;
  if (run_command("command -v " + name, output) == 0 && !output.empty()) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }
  const std::string unpacked = source_root + "/.tools/prometheus/usr/bin/" + name;
  return access(unpacked.c_str(), X_OK) == 0 ? unpacked : "";
}

inline std::string promtool_path(const std::string& source_root) {
  return prometheus_program("promtool", "PREFORK_PROMTOOL", source_root);
}

inline std::string prometheus_path(const std::string& source_root) {
  return prometheus_program("prometheus", "PREFORK_PROMETHEUS", source_root);
}

}  // namespace prefork::testing
