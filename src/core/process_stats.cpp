#include "core/process_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "core/unique_fd.hpp"

namespace prefork {
namespace {

// The number text starts with, or -1.
double number_or_negative(std::string_view text) {
  double value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() ? value : -1;
}

double cpu_seconds() {
  rusage usage = {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
  auto seconds = [](const timeval& time) { return double(time.tv_sec) + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// /proc/self/statm's first two fields, in pages: the address space and the resident set.
bool read_statm(double& virtual_pages, double& resident_pages) {
  UniqueFd statm(open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  if (!statm) return false;
  char text[128];
  ssize_t got = read(statm.get(), text, sizeof text);
  if (got <= 0) return false;
  const char* at = text;
  const char* end = text + got;
  long size = 0, resident = 0;
  auto [after_size, size_error] = std::from_chars(at, end, size);
  if (size_error != std::errc() || after_size == end) return false;
  auto [after_resident, resident_error] = std::from_chars(after_size + 1, end, resident);
  if (resident_error != std::errc()) return false;
  virtual_pages = double(size);
  resident_pages = double(resident);
  return true;
}

double open_fds() {
  std::unique_ptr<DIR, int (*)(DIR*)> directory(opendir("/proc/self/fd"), closedir);
  if (!directory) return -1;
  int own = dirfd(directory.get());
  double count = 0;
  while (dirent* entry = readdir(directory.get())) {
    std::string_view name = entry->d_name;
    int fd = -1;
    auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (error == std::errc() && end == name.data() + name.size() && fd != own) ++count;
  }
  return count;
}

double max_fds() {
  rlimit limit = {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  return double(limit.rlim_cur);
}

double clock_seconds(clockid_t clock) {
  timespec now = {};
  clock_gettime(clock, &now);
  return double(now.tv_sec) + now.tv_nsec / 1e9;
}

// Field 22 of /proc/self/stat, in clock ticks since boot. The fields are counted after the
// command's closing parenthesis: the command itself may hold spaces and parentheses.
double start_ticks_since_boot() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::size_t command_end = text.rfind(')');
  if (command_end == std::string::npos) return -1;
  std::istringstream fields(text.substr(command_end + 1));
  std::string field;
  for (int number = 3; number <= 22 && fields >> field; ++number) {
    if (number == 22) return number_or_negative(field);
  }
  return -1;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats stats;
  stats.cpu_seconds = cpu_seconds();
  double virtual_pages = 0, resident_pages = 0;
  if (read_statm(virtual_pages, resident_pages)) {
    double page = double(sysconf(_SC_PAGESIZE));
    stats.virtual_bytes = virtual_pages * page;
    stats.resident_bytes = resident_pages * page;
  }
  stats.open_fds = open_fds();
  stats.max_fds = max_fds();
  return stats;
}

double process_start_time_seconds() {
  double ticks = start_ticks_since_boot();
  long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (ticks < 0 || ticks_per_second <= 0) return -1;
  double age = clock_seconds(CLOCK_BOOTTIME) - ticks / double(ticks_per_second);
  return clock_seconds(CLOCK_REALTIME) - age;
}

}  // namespace prefork
