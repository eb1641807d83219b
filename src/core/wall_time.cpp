#include "core/wall_time.hpp"

#include <cstdio>

namespace prefork {

void Rfc3339Clock::append_now(std::string& out) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  append(out, now.tv_sec, int(now.tv_nsec / 1000000));
}

void Rfc3339Clock::append(std::string& out, std::time_t seconds, int milliseconds) {
  if (seconds != second_) {
    struct tm local;
    localtime_r(&seconds, &local);
    strftime(date_time_, sizeof date_time_, "%Y-%m-%dT%H:%M:%S", &local);
    // strftime's %z has no colon ("+0200"); RFC 3339 wants one.
    char zone[8];
    strftime(zone, sizeof zone, "%z", &local);
    std::snprintf(offset_, sizeof offset_, "%.3s:%.2s", zone, zone + 3);
    second_ = seconds;
  }
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03d", milliseconds);
  out.append(date_time_).append(fraction).append(offset_);
}

}  // namespace prefork
