// The master process: gunicorn's arbiter on a libuv loop. Forks and supervises the workers,
// answers signals, checks heartbeats, reaps and respawns.
#pragma once

#include <unistd.h>
#include <uv.h>
#include <prefork/app.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/loader.hpp"
#include "app/probe.hpp"
#include "config/config.hpp"
#include "core/heartbeat.hpp"
#include "core/unique_fd.hpp"
#include "core/uv_handle.hpp"
#include "master/hooks.hpp"
#include "master/inherited_fds.hpp"
#include "master/listeners.hpp"
#include "master/notify.hpp"
#include "master/pidfile.hpp"
#include "master/privileges.hpp"
#include "master/raw_env.hpp"
#include "master/reap_observer.hpp"
#include "master/reload_watch.hpp"
#include "master/tls_setup.hpp"

namespace prefork::master {

// What the arbiter needs from startup (prefork::run).
struct Setup {
  config::Config config;
  Listeners listeners;
  TlsContexts tls;  // re-made on HUP; workers take them through fork
  app::LoadedApp app;
  std::unique_ptr<App> preloaded_app;  // preload_app
  Identity identity;
  RawEnvironment environment;  // raw_env, set again on SIGHUP
  // Kept for SIGHUP, which re-reads the config file with the same command line and environment.
  int argc = 0;
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  AppFactory linked_factory = nullptr;
  Notifier notifier;             // systemd's NOTIFY_SOCKET, taken from the environment at start
  MasterHooks* hooks = nullptr;  // the app's (adopt_hooks), or none
  std::unique_ptr<MasterHooks> loaded_hooks;  // made from a preloaded .so; hooks points here
  Pidfile pidfile;                            // moved aside to PIDFILE.oldbin by USR2
  // USR2 runs argv[0] again from the directory the master started in (before config.chdir).
  std::string start_cwd;
  Inheritance inheritance;  // from the master whose USR2 started this one
};

struct WorkerProcess {
  pid_t pid = 0;
  int id = 0;
  std::unique_ptr<SharedHeartbeat> heartbeat;
  bool retiring = false;              // asked to stop: reaped without replacement
  bool timed_out = false;             // SIGABRT sent for a missed heartbeat
  std::int64_t kill_deadline_ms = 0;  // SIGKILL once passed; 0 = none
  int position = 0;                   // worker::Boot::position
};

// A HUP whose new app is being loaded by a probe: the configuration waits for the verdict.
struct PendingReload {
  app::Probe probe;
  config::Config config;
};

class Arbiter {
 public:
  explicit Arbiter(Setup setup);
  ~Arbiter();
  Arbiter(const Arbiter&) = delete;
  Arbiter& operator=(const Arbiter&) = delete;

  // Spawns the workers and runs the loop until the master stops. Returns the exit code.
  int run();

  uv_loop_t* loop() { return &loop_; }
  // Set before run(); the observer must outlive the arbiter.
  void set_reap_observer(ReapObserver* observer) { observer_ = observer; }
  // The metrics endpoint's listening socket, passed to a new master on USR2; -1 for none.
  void set_metrics_socket(int fd) { metrics_socket_ = fd; }
  // Called after HUP applied a new configuration, with the certificates it read: the metrics
  // endpoint, which the arbiter does not own, takes its new context.
  void on_reload(std::function<void(const TlsContexts&)> hook) { reload_hook_ = std::move(hook); }

  // Signal actions, named as gunicorn's handlers.
  void handle_term();   // graceful shutdown
  void handle_quit();   // quick shutdown (INT and QUIT)
  void handle_hup();    // reload: new config, new workers, old ones stop gracefully
  void handle_ttin();   // one worker more
  void handle_ttou();   // one worker less, never below one
  void handle_usr1();   // reopen log files, here and in the workers
  void handle_usr2();   // re-exec: a new master on the same sockets (reexec.cpp)
  void handle_winch();  // gracefully stop all workers, keep the master
  void handle_chld();   // reap

 private:
  // signals.cpp
  void start_signal_handlers();
  void queue_signal(int signum);
  void dispatch_signals();
  // spawn.cpp
  void spawn_missing_workers();
  void spawn_worker();
  int free_position() const;
  [[noreturn]] void become_worker(int id, int position, Heartbeat* heartbeat,
                                  storage::WorkerPlace metrics);
  void release_master_loop();
  // reap.cpp
  void reap_workers();
  void worker_exited(WorkerProcess& worker, int status);
  // heartbeat_check.cpp
  void start_heartbeat_check();
  void check_workers();
  // The current generation serves: as many workers as the target, each with the app loaded.
  bool all_workers_booted() const;
  void notify_workers();
  void start_watchdog();
  // reexec.cpp
  void start_new_master();
  void watch_new_master(UniqueFd ready);
  void on_ready_pipe();
  void new_master_ready(pid_t pid);
  void reexec_exited(int status);
  void maybe_promote();
  void report_ready_once_booted();
  std::string current_title(const config::Config& config) const;
  // arbiter.cpp
  void retire(WorkerProcess& worker, int signum, double grace_seconds);
  void retire_all(int signum, double grace_seconds);
  void stop(int exit_code, bool graceful);
  void stop_loop_when_done();
  // reload.cpp
  config::LoadResult reload_config() const;
  void probe_app(config::Config config);
  void probe_exited(int status);
  void check_probe_time();
  void cancel_reload();
  Status replace_workers(config::Config config, const app::LoadedApp& app);
  Status apply_reloaded_config(config::Config config, const app::LoadedApp& app);
  void reload_finished(const Status& outcome);
  void watch_for_reload();
  int active_workers() const;

  Setup setup_;
  pid_t master_pid_ = getpid();  // read by a new worker, which cannot trust getppid()
  uv_loop_t loop_;
  std::array<uv_signal_t, 10> signals_;
  uv_timer_t signal_dispatch_timer_;
  std::vector<int> pending_signals_;
  uv_timer_t check_timer_;
  uv_timer_t watchdog_timer_;
  std::map<pid_t, WorkerProcess> workers_;
  int target_workers_ = 1;
  int next_worker_id_ = 1;
  bool stopping_ = false;
  bool loop_stopped_ = false;
  int exit_code_ = 0;
  std::function<void(const TlsContexts&)> reload_hook_;
  ReapObserver* observer_ = nullptr;
  Hooks hooks_;
  std::optional<PendingReload> pending_reload_;
  bool hup_again_ = false;  // a HUP arrived while the probe ran: reload again after it
  std::unique_ptr<ReloadWatch> reload_watch_;  // --reload; made when first needed
  int metrics_socket_ = -1;
  // Old master: the new master started by USR2, until it exits; its ready pipe and the watch
  // on it, until the byte (or EOF) arrives.
  pid_t reexec_pid_ = 0;
  UniqueFd new_master_ready_;
  UvHandle<uv_poll_t> ready_watch_;
  // New master: the master whose USR2 started this one, until that one is gone (promotion);
  // the pipe to tell it this master's workers serve.
  pid_t parent_master_pid_ = 0;
  UniqueFd ready_to_report_;
};

// Blocks the master's signals until Arbiter::run handles them, so that a TERM sent as soon as
// "Listening at" is logged is not lost to the default action.
void hold_master_signals();
// Every signal to its default action (async-signal-safe: used between fork and exec).
void reset_signal_dispositions();
// app::Probe's in_child, before the app's static constructors run: the master's handlers go
// first (a constructor that unblocks signals would otherwise hand the probe's signals to the
// master's loop, as the master's own), then the probe takes its title and the workers' user.
Status become_app_probe(const Identity& identity, std::string_view title);

}  // namespace prefork::master
