#include <unistd.h>

#include <cstdlib>
#include <string>

#include "master/listeners.hpp"

namespace prefork::master {
namespace {

constexpr int first_systemd_fd = 3;  // SD_LISTEN_FDS_START

bool parse_positive(const char* text, long& value) {
  if (!text || !*text) return false;
  char* end = nullptr;
  value = std::strtol(text, &end, 10);
  return *end == '\0' && value > 0;
}

}  // namespace

std::vector<int> take_systemd_fds() {
  std::vector<int> fds;
  long pid = 0, count = 0;
  if (parse_positive(getenv("LISTEN_PID"), pid) && pid == long(getpid()) &&
      parse_positive(getenv("LISTEN_FDS"), count)) {
    for (long i = 0; i < count; ++i) fds.push_back(first_systemd_fd + int(i));
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return fds;
}

}  // namespace prefork::master
