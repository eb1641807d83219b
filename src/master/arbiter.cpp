#include "master/arbiter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "core/clock.hpp"
#include "core/exit_codes.hpp"
#include "core/log.hpp"
#include "core/loop.hpp"
#include "worker/run.hpp"

namespace prefork::master {
namespace {

// How long workers get to obey SIGQUIT before SIGKILL.
constexpr double quick_shutdown_grace_seconds = 1;

}  // namespace

Arbiter::Arbiter(Setup setup)
    : setup_(std::move(setup)),
      hooks_(setup_.hooks, setup_.config, [this] { return active_workers(); }) {
  uv_loop_init(&loop_);
  target_workers_ = setup_.config.workers;
  parent_master_pid_ = setup_.inheritance.master_pid;
  ready_to_report_.reset(setup_.inheritance.ready_fd);
  // Kept open across exec by the old master; no exec of this one's may inherit it.
  if (ready_to_report_) fcntl(ready_to_report_.get(), F_SETFD, FD_CLOEXEC);
}

Arbiter::~Arbiter() {
  // Owned handles close with their callbacks, before the loop's remaining ones are closed.
  reload_watch_.reset();
  ready_watch_.reset();
  close_all_handles(&loop_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

int Arbiter::run() {
  start_signal_handlers();
  start_heartbeat_check();
  start_watchdog();
  hooks_.when_ready();
  watch_for_reload();
  spawn_missing_workers();
  uv_run(&loop_, UV_RUN_DEFAULT);
  hooks_.on_exit();
  return exit_code_;
}

int Arbiter::active_workers() const {
  return int(std::count_if(workers_.begin(), workers_.end(),
                           [](const auto& entry) { return !entry.second.retiring; }));
}

void Arbiter::retire(WorkerProcess& worker, int signum, double grace_seconds) {
  worker.retiring = true;
  kill(worker.pid, signum);
  std::int64_t deadline = monotonic_ms() + std::int64_t(grace_seconds * 1000);
  if (worker.kill_deadline_ms == 0 || deadline < worker.kill_deadline_ms)
    worker.kill_deadline_ms = deadline;
}

void Arbiter::retire_all(int signum, double grace_seconds) {
  for (auto& [pid, worker] : workers_) retire(worker, signum, grace_seconds);
}

void Arbiter::stop(int exit_code, bool graceful) {
  if (exit_code != 0) exit_code_ = exit_code;
  maybe_promote();
  // Unpromoted, this master leaves the service to the old one, which serves on: its STOPPING=1
  // would stop the service, and so would its exit as the main pid.
  if (parent_master_pid_ != 0) setup_.notifier.hand_over(parent_master_pid_);
  setup_.notifier.stopping();
  stopping_ = true;
  target_workers_ = 0;
  cancel_reload();
  // A new master serves on the same sockets, unix files included.
  if (reexec_pid_ != 0) setup_.listeners.keep_files();
  // As gunicorn does: a client connecting from now on is refused, not queued for workers that
  // are leaving (they close their copies as they begin to drain). With a new master running,
  // its workers take them.
  setup_.listeners.close_all();
  if (graceful) {
    retire_all(SIGTERM, setup_.config.graceful_timeout);
  } else {
    retire_all(SIGQUIT, quick_shutdown_grace_seconds);
  }
  stop_loop_when_done();
}

void Arbiter::stop_loop_when_done() {
  // Once: a second TERM, or a reap after the last one, finds the loop stopping already.
  if (!stopping_ || !workers_.empty() || loop_stopped_) return;
  loop_stopped_ = true;
  log::info("Shutting down: Master");
  if (exit_code_ == exit_boot_error) log::info("Reason: Worker failed to boot.");
  uv_stop(&loop_);
}

void Arbiter::handle_term() {
  stop(0, true);
}

void Arbiter::handle_quit() {
  stop(0, false);
}

void Arbiter::handle_ttin() {
  if (stopping_) return;
  ++target_workers_;
  spawn_missing_workers();
}

// gunicorn stops the oldest worker.
void Arbiter::handle_ttou() {
  if (stopping_ || target_workers_ <= 1) return;
  --target_workers_;
  auto oldest = std::min_element(workers_.begin(), workers_.end(), [](auto& a, auto& b) {
    if (a.second.retiring != b.second.retiring) return !a.second.retiring;
    return a.second.id < b.second.id;
  });
  if (oldest != workers_.end() && !oldest->second.retiring)
    retire(oldest->second, SIGTERM, setup_.config.graceful_timeout);
}

void Arbiter::handle_usr1() {
  log::reopen();
  for (auto& [pid, worker] : workers_) kill(pid, SIGUSR1);
}

// gunicorn honours WINCH only when daemonized, since a terminal sends it to its foreground job
// on every resize. prefork applies it with or without -D (systemd and containers send it only on
// purpose), so a master in a terminal's foreground stops its workers when the window is
// resized. HUP or TTIN brings workers back.
void Arbiter::handle_winch() {
  if (stopping_) return;
  log::info("graceful stop of workers");
  target_workers_ = 0;
  retire_all(SIGTERM, setup_.config.graceful_timeout);
}

}  // namespace prefork::master
