#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "core/exit_codes.hpp"
#include "core/fork.hpp"
#include "core/log.hpp"
#include "core/loop.hpp"
#include "master/arbiter.hpp"
#include "master/process_title.hpp"
#include "worker/run.hpp"

namespace prefork::master {
namespace {

void restore_default_signals() {
  reset_signal_dispositions();
  std::signal(SIGPIPE, SIG_IGN);
}

// TERM and USR1 stay blocked until the worker's loop handles them (worker::Server): one the
// master sends while the worker boots (a USR1 right after the fork) waits instead of killing
// it with the default action.
void unblock_signals_but_term_and_usr1() {
  sigset_t boot;
  sigemptyset(&boot);
  sigaddset(&boot, SIGTERM);
  sigaddset(&boot, SIGUSR1);
  pthread_sigmask(SIG_SETMASK, &boot, nullptr);
}

}  // namespace

void Arbiter::spawn_missing_workers() {
  if (stopping_) return;
  while (active_workers() < target_workers_) {
    std::size_t before = workers_.size();
    spawn_worker();
    if (workers_.size() == before) return;  // fork failed; the next check retries
  }
}

int Arbiter::free_position() const {
  std::vector<bool> taken(workers_.size() + 2, false);
  for (const auto& [pid, worker] : workers_) {
    if (std::size_t(worker.position) < taken.size()) taken[worker.position] = true;
  }
  int position = 1;
  while (taken[position]) ++position;
  return position;
}

void Arbiter::spawn_worker() {
  int id = next_worker_id_++;
  int position = free_position();
  auto heartbeat = std::make_unique<SharedHeartbeat>();
  storage::WorkerPlace metrics = observer_ ? observer_->prepare_worker() : storage::WorkerPlace{};
  hooks_.pre_fork(id);
  pid_t pid = fork_with_signals_blocked();
  if (pid == 0) become_worker(id, position, heartbeat->get(), std::move(metrics));
  int fork_error = errno;
  if (observer_) observer_->worker_forked(pid, position);
  if (pid < 0) {
    log::error("fork: ", std::strerror(fork_error));
    return;
  }
  WorkerProcess& worker = workers_[pid];
  worker.pid = pid;
  worker.id = id;
  worker.position = position;
  worker.heartbeat = std::move(heartbeat);
  if (observer_) observer_->workers_changed(int(workers_.size()));
}

// The child still shares the epoll instance with the master until uv_loop_fork makes its own:
// closing handles before that would unregister the master's watchers.
void Arbiter::release_master_loop() {
  uv_loop_fork(&loop_);
  close_all_handles(&loop_);
  // One pass runs the close callbacks; the loop's memory is the master's and is simply left.
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

void Arbiter::become_worker(int id, int position, Heartbeat* heartbeat,
                            storage::WorkerPlace metrics) {
  release_master_loop();
  if (observer_) observer_->close_in_worker();
  pending_reload_.reset();  // the probe's pipe
  // The pipes between an old and a new master (USR2) are theirs alone.
  new_master_ready_.reset();
  ready_to_report_.reset();
  restore_default_signals();
  hooks_.post_fork(id);
  std::vector<worker::ListenSocket> sockets;
  for (const Listener& listener : setup_.listeners.all()) {
    std::shared_ptr<const net::tls::ServerContext> tls = listener.tls ? setup_.tls.app : nullptr;
    if (!listener.per_worker) {
      sockets.push_back({listener.fd, std::move(tls)});
      continue;
    }
    ::close(listener.fd);
    Result<UniqueFd> own = open_reuse_port_socket(listener, setup_.config.backlog);
    if (!own) {
      log::error(own.message());
      _exit(exit_boot_error);
    }
    sockets.push_back({own->release(), std::move(tls)});
  }
  if (Status dropped = drop_privileges(setup_.identity); !dropped.ok()) {
    log::error("Worker cannot drop privileges: ", dropped.message());
    _exit(exit_boot_error);
  }
  ::umask(mode_t(setup_.config.umask));
  set_process_title(worker_title(setup_.config.proc_name));

  worker::Boot boot;
  boot.config = &setup_.config;
  boot.listeners = std::move(sockets);
  boot.id = id;
  boot.position = position;
  boot.heartbeat = heartbeat;
  boot.master_pid = master_pid_;
  boot.preloaded_app = setup_.preloaded_app.get();
  boot.factory = setup_.app.factory;
  boot.app_spec = setup_.app.spec;
  // From here the worker's metrics own the slot.
  boot.metrics_dir = metrics.directory;
  boot.metrics_slot_fd = metrics.slot.release();
  boot.metrics_redis = std::move(metrics.redis);
  unblock_signals_but_term_and_usr1();
  int code = 1;
  try {
    code = worker::run(boot);
  } catch (const std::exception& error) {
    log::critical("Worker (pid:", getpid(), ") failed: ", error.what());
  }
  std::fflush(nullptr);
  // Destructors of the master's objects must not run here: they belong to the master.
  _exit(code);
}

}  // namespace prefork::master
