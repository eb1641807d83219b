#include <sys/wait.h>
#include <unistd.h>

#include "core/exit_codes.hpp"
#include "core/log.hpp"
#include "master/arbiter.hpp"
#include "master/exit_status.hpp"
#include "worker/run.hpp"

namespace prefork::master {
namespace {

ExitReason classify(const WorkerProcess& worker, int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == exit_boot_error) return ExitReason::boot_error;
  if (worker.timed_out) return ExitReason::timeout;
  if (worker.retiring) return ExitReason::retired;
  if (WIFSIGNALED(status)) return ExitReason::signaled;
  return ExitReason::exited;
}

bool is_clean(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

void Arbiter::handle_chld() {
  reap_workers();
}

void Arbiter::reap_workers() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pending_reload_ && pid == pending_reload_->probe.pid()) {
      probe_exited(status);
      continue;
    }
    if (pid == reexec_pid_) {
      reexec_exited(status);
      continue;
    }
    auto found = workers_.find(pid);
    if (found == workers_.end()) continue;
    // Out of the table first: nothing may signal a pid that is reaped and could be reused.
    WorkerProcess worker = std::move(found->second);
    workers_.erase(found);
    worker_exited(worker, status);
    if (observer_) observer_->workers_changed(int(workers_.size()));
  }
  if (stopping_) {
    stop_loop_when_done();
  } else {
    spawn_missing_workers();
  }
}

void Arbiter::worker_exited(WorkerProcess& worker, int status) {
  ExitReason reason = classify(worker, status);
  std::string text = describe_exit(worker.pid, status);
  if (reason == ExitReason::retired || (reason == ExitReason::exited && is_clean(status))) {
    log::info(text);
  } else {
    log::error(text);
  }
  if (observer_) observer_->worker_reaped({worker.pid, worker.id, worker.position, status, reason});
  hooks_.child_exit(worker.pid, status);
  if (reason == ExitReason::boot_error && !stopping_) {
    log::error("Worker (pid:", worker.pid, ") failed to boot.");
    stop(exit_boot_error, true);
  }
}

}  // namespace prefork::master
