#include "core/clock.hpp"

#include <ctime>

namespace prefork {
namespace {

timespec monotonic_now() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now;
}

}  // namespace

std::int64_t monotonic_ms() {
  timespec now = monotonic_now();
  return std::int64_t(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

std::uint64_t monotonic_usec() {
  timespec now = monotonic_now();
  return std::uint64_t(now.tv_sec) * 1000000 + std::uint64_t(now.tv_nsec) / 1000;
}

}  // namespace prefork
