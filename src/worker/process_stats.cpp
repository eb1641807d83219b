#include "worker/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace prefork::worker {
namespace {

double cpu_seconds() {
  rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) { return double(time.tv_sec) + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double wall_seconds() {
  timespec now = {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return double(now.tv_sec) + now.tv_nsec / 1e9;
}

}  // namespace

double resident_memory_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (!statm) return -1;
  long size = 0, resident = 0;
  int read = std::fscanf(statm, "%ld %ld", &size, &resident);
  std::fclose(statm);
  if (read != 2) return -1;
  return double(resident) * double(sysconf(_SC_PAGESIZE));
}

CpuUsage::CpuUsage() : last_cpu_seconds_(cpu_seconds()), last_wall_seconds_(wall_seconds()) {}

double CpuUsage::percent_since_last() {
  double cpu = cpu_seconds();
  double wall = wall_seconds();
  double elapsed = wall - last_wall_seconds_;
  double used = cpu - last_cpu_seconds_;
  last_cpu_seconds_ = cpu;
  last_wall_seconds_ = wall;
  return elapsed > 0 ? used / elapsed * 100 : 0;
}

}  // namespace prefork::worker
