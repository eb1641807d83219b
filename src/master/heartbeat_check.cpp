#include <algorithm>
#include <csignal>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "master/arbiter.hpp"

namespace prefork::master {
namespace {

constexpr std::uint64_t check_interval_ms = 100;
// Time a worker gets to die of SIGABRT before SIGKILL.
constexpr std::int64_t abort_grace_ms = 1000;

}  // namespace

void Arbiter::start_heartbeat_check() {
  uv_timer_init(&loop_, &check_timer_);
  check_timer_.data = this;
  uv_timer_start(
      &check_timer_, [](uv_timer_t* timer) { static_cast<Arbiter*>(timer->data)->check_workers(); },
      check_interval_ms, check_interval_ms);
}

// gunicorn's murder_workers, plus the SIGKILL deadlines of workers asked to stop.
void Arbiter::check_workers() {
  std::int64_t now = monotonic_ms();
  auto timeout_ms = std::int64_t(setup_.config.timeout * 1000);
  for (auto& [pid, worker] : workers_) {
    if (worker.kill_deadline_ms != 0 && now >= worker.kill_deadline_ms) {
      log::warning("Worker (pid:", pid, ") did not stop in time: sending SIGKILL");
      kill(pid, SIGKILL);
      worker.kill_deadline_ms = 0;
      continue;
    }
    if (timeout_ms <= 0 || worker.timed_out) continue;
    std::int64_t silent_ms = now - worker.heartbeat->get()->last_beat_ms.load();
    if (silent_ms <= timeout_ms) continue;
    log::critical("WORKER TIMEOUT (pid:", pid, ")");
    worker.timed_out = true;
    hooks_.worker_abort(pid);
    kill(pid, SIGABRT);
    worker.kill_deadline_ms = now + abort_grace_ms;
  }
  check_probe_time();
  // Retries a fork that failed earlier (e.g. EAGAIN under a process limit).
  spawn_missing_workers();
  maybe_promote();
  report_ready_once_booted();
  notify_workers();
}

bool Arbiter::all_workers_booted() const {
  if (active_workers() != target_workers_) return false;
  return std::all_of(workers_.begin(), workers_.end(), [](const auto& entry) {
    const WorkerProcess& worker = entry.second;
    return worker.retiring || worker.heartbeat->get()->booted.load();
  });
}

// READY=1 once the first generation, or a reload's new one, serves; then the count as it moves.
void Arbiter::notify_workers() {
  if (stopping_) return;
  Notifier& notifier = setup_.notifier;
  if (!notifier.awaiting_ready()) {
    notifier.workers_changed(active_workers());
  } else if (all_workers_booted()) {
    notifier.ready(active_workers());
  }
}

// systemd's watchdog: fed from the loop, so a master whose loop is stuck stops feeding it.
void Arbiter::start_watchdog() {
  std::uint64_t interval_ms = setup_.notifier.watchdog_interval_ms();
  if (interval_ms == 0) return;
  uv_timer_init(&loop_, &watchdog_timer_);
  watchdog_timer_.data = this;
  uv_timer_start(
      &watchdog_timer_,
      [](uv_timer_t* timer) { static_cast<Arbiter*>(timer->data)->setup_.notifier.watchdog(); },
      interval_ms, interval_ms);
}

}  // namespace prefork::master
