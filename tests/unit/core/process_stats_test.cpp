// The process as the kernel sees it, read as prometheus_client reads it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "core/process_stats.hpp"
#include "core/unique_fd.hpp"

using prefork::ProcessStats;
using prefork::read_process_stats;

namespace {

// Spins for about duration of CPU time.
void burn_cpu(std::chrono::milliseconds duration) {
  auto until = std::chrono::steady_clock::now() + duration;
  volatile unsigned long sink = 0;
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
}

}  // namespace

TEST_CASE("memory: resident within the address space, both in whole pages") {
  ProcessStats stats = read_process_stats();
  double page = double(sysconf(_SC_PAGESIZE));
  CHECK(stats.resident_bytes > 0);
  CHECK(stats.virtual_bytes >= stats.resident_bytes);
  CHECK(stats.resident_bytes / page == double(long(stats.resident_bytes / page)));
}

TEST_CASE("descriptors: one more opened is one more counted; the limit is RLIMIT_NOFILE's") {
  double before = read_process_stats().open_fds;
  CHECK(before >= 3);
  prefork::UniqueFd opened(open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(opened);
  CHECK(read_process_stats().open_fds == before + 1);
  opened.reset();
  CHECK(read_process_stats().open_fds == before);

  rlimit limit = {};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(read_process_stats().max_fds == double(limit.rlim_cur));
}

TEST_CASE("CPU seconds grow by the CPU time spent") {
  double before = read_process_stats().cpu_seconds;
  CHECK(before >= 0);
  burn_cpu(std::chrono::milliseconds(200));
  double after = read_process_stats().cpu_seconds;
  // Wall time spun is at least the CPU time got; a loaded machine gives less, never more.
  CHECK(after > before);
  CHECK(after - before <= 0.2 + 0.1);
}

TEST_CASE("the start time is this process's, in seconds since the epoch") {
  double started = prefork::process_start_time_seconds();
  double now = double(std::time(nullptr));
  // The test binary started moments ago; now is truncated to whole seconds.
  CHECK(started <= now + 1);
  CHECK(started > now - 120);
  // Read again, the same start (two clocks read a moment apart: microseconds).
  CHECK(std::abs(prefork::process_start_time_seconds() - started) < 0.001);
}
