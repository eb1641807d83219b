#include "core/heartbeat.hpp"

#include <sys/mman.h>

#include <new>
#include <stdexcept>

#include "core/clock.hpp"

namespace prefork {

void Heartbeat::beat() {
  last_beat_ms.store(monotonic_ms(), std::memory_order_relaxed);
}

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "heartbeat must be lock-free");

SharedHeartbeat::SharedHeartbeat() {
  void* page =
      mmap(nullptr, sizeof(Heartbeat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) throw std::runtime_error("mmap of a heartbeat page failed");
  heartbeat_ = new (page) Heartbeat();
  heartbeat_->beat();
}

SharedHeartbeat::~SharedHeartbeat() {
  munmap(heartbeat_, sizeof(Heartbeat));
}

}  // namespace prefork
