// A worker's liveness record, in memory the master maps before fork and shares with the child.
#pragma once

#include <atomic>
#include <cstdint>

namespace prefork {

struct Heartbeat {
  // monotonic_ms() (core/clock.hpp) of the worker's last beat: the same clock in every process.
  std::atomic<std::int64_t> last_beat_ms{0};
  // Set once the app is loaded and the worker accepts; the master logs readiness from it.
  std::atomic<bool> booted{false};
  std::atomic<std::uint64_t> requests{0};

  void beat();
};

// One shared anonymous page per worker, mapped by the master before fork.
class SharedHeartbeat {
 public:
  SharedHeartbeat();
  ~SharedHeartbeat();
  SharedHeartbeat(const SharedHeartbeat&) = delete;
  SharedHeartbeat& operator=(const SharedHeartbeat&) = delete;

  Heartbeat* get() const { return heartbeat_; }

 private:
  Heartbeat* heartbeat_;
};

}  // namespace prefork
