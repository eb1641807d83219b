// CLOCK_MONOTONIC: the same clock in every process of the machine (a worker's heartbeat, read by
// the master) and the one systemd's MONOTONIC_USEC names.
#pragma once

#include <cstdint>

namespace prefork {

std::int64_t monotonic_ms();
std::uint64_t monotonic_usec();

}  // namespace prefork
