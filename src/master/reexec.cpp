// USR2, binary upgrade as nginx and gunicorn do it: the master moves its pidfile aside to
// PIDFILE.oldbin and starts its binary again as its child, on the same listening sockets. The
// new master writes PIDFILE, forks its workers and says on a pipe once they all serve; TERM (or
// WINCH, then QUIT) to the old master completes the switch, and the new one, reparented, is
// promoted. If the new master exits, the old one takes its pidfile back and serves on.
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/files.hpp"
#include "core/fork.hpp"
#include "core/log.hpp"
#include "core/signal_name.hpp"
#include "master/arbiter.hpp"
#include "master/process_title.hpp"

namespace prefork::master {
namespace {

constexpr std::string_view oldbin_suffix = ".oldbin";

// Variables of this master's own start that a new master must not take for its own. systemd's
// notification variables are added back from the notifier, which knows whether the watchdog is
// this master's.
constexpr std::string_view dropped_variables[] = {
    "PREFORK_FDS=",   "PREFORK_MASTER_PID=", "PREFORK_READY_FD=", "PREFORK_METRICS_FD=",
    "LISTEN_PID=",    "LISTEN_FDS=",         "LISTEN_FDNAMES=",   "NOTIFY_SOCKET=",
    "WATCHDOG_USEC=", "WATCHDOG_PID=",
};

bool is_dropped(std::string_view entry) {
  for (std::string_view name : dropped_variables) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

std::string absolute(const std::string& path, const std::string& start_cwd) {
  return path.starts_with('/') ? path : start_cwd + "/" + path;
}

bool is_executable_file(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// argv[0] as the shell found it: a path (relative to where the master started), or a bare name
// searched in PATH. Not /proc/self/exe: after an upgrade that replaced the file by rename, that
// names the old, deleted binary.
Result<std::string> find_binary(const std::string& argv0, const std::string& start_cwd) {
  if (argv0.find('/') != std::string::npos) return absolute(argv0, start_cwd);
  const char* search = std::getenv("PATH");
  std::string_view path = search ? search : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    std::string_view directory = path.substr(0, path.find(':'));
    std::string candidate = absolute(
        (directory.empty() ? std::string(".") : std::string(directory)) + "/" + argv0, start_cwd);
    if (is_executable_file(candidate)) return candidate;
    if (directory.size() == path.size()) break;
    path.remove_prefix(directory.size() + 1);
  }
  return Result<std::string>::error(argv0 + " is not in PATH");
}

// Everything the child needs, made before fork: after it only async-signal-safe calls remain.
struct ExecPlan {
  // argv and envp point into the strings: a move keeps the strings where they are, a copy
  // would not.
  ExecPlan() = default;
  ExecPlan(ExecPlan&&) = default;
  ExecPlan(const ExecPlan&) = delete;
  ExecPlan& operator=(const ExecPlan&) = delete;

  std::string path;
  std::string cwd;
  std::vector<std::string> arguments;
  std::vector<std::string> environment;
  std::vector<int> inherited;  // descriptors that stay open across exec
  std::string failure;         // written to stderr when execve fails

  std::vector<char*> argv;
  std::vector<char*> envp;

  void make_pointers() {
    for (std::string& text : arguments) argv.push_back(text.data());
    argv.push_back(nullptr);
    for (std::string& text : environment) envp.push_back(text.data());
    envp.push_back(nullptr);
  }
};

// The environment this master started with, minus what was its own, plus what the new master
// takes over. Not the running one: raw_env set that, and the new master applies its own list to
// its start environment (gunicorn's env_orig).
std::vector<std::string> exec_environment(const Setup& setup, int ready_fd, int metrics_socket) {
  const Listeners& listeners = setup.listeners;
  std::vector<std::string> environment;
  for (const char* const* entry = setup.envp; entry && *entry; ++entry) {
    if (!is_dropped(*entry)) environment.emplace_back(*entry);
  }
  environment.push_back(std::string(inherited_fds_variable) + "=" +
                        encode_inherited_fds(listeners.for_exec()));
  environment.push_back(std::string(master_pid_variable) + "=" + std::to_string(getpid()));
  environment.push_back(std::string(ready_fd_variable) + "=" + std::to_string(ready_fd));
  if (metrics_socket >= 0)
    environment.push_back(std::string(metrics_fd_variable) + "=" + std::to_string(metrics_socket));
  // systemd's: the new master speaks to the same socket, and feeds the watchdog once it is the
  // main pid.
  if (!setup.notifier.socket().empty())
    environment.push_back("NOTIFY_SOCKET=" + setup.notifier.socket());
  if (setup.notifier.watchdog_usec() != 0)
    environment.push_back("WATCHDOG_USEC=" + std::to_string(setup.notifier.watchdog_usec()));
  return environment;
}

// In the child of fork: the master's handlers and its all-blocked mask must not survive exec
// (execve keeps the mask, and the new master unblocks only its own signals).
[[noreturn]] void exec_new_master(const ExecPlan& plan) {
  reset_signal_dispositions();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(plan.cwd.c_str()) == 0) {
    for (int fd : plan.inherited) fcntl(fd, F_SETFD, 0);
    execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  }
  int error = errno;
  write_all(STDERR_FILENO, plan.failure);
  const char* name = strerrorname_np(error);
  if (name) write_all(STDERR_FILENO, name);
  write_all(STDERR_FILENO, "\n");
  _exit(127);
}

ExecPlan make_exec_plan(std::string path, const Setup& setup, int ready_fd, int metrics_socket) {
  ExecPlan plan;
  plan.path = std::move(path);
  plan.cwd = setup.start_cwd;
  plan.arguments.assign(setup.argv, setup.argv + setup.argc);
  plan.environment = exec_environment(setup, ready_fd, metrics_socket);
  for (const Listener& listener : setup.listeners.all()) plan.inherited.push_back(listener.fd);
  plan.inherited.push_back(ready_fd);
  if (metrics_socket >= 0) plan.inherited.push_back(metrics_socket);
  plan.failure = "prefork: USR2: cannot execute " + plan.path + ": ";
  plan.make_pointers();
  return plan;
}

std::string describe_master_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by SIG" + signal_name(WTERMSIG(status));
  return "stopped";
}

}  // namespace

void Arbiter::handle_usr2() {
  if (stopping_) return;
  if (reexec_pid_ != 0) {
    log::warning("USR2 ignored: new master (pid ", reexec_pid_, ") is running");
    return;
  }
  maybe_promote();
  if (parent_master_pid_ != 0) {
    log::warning("USR2 ignored: this master is not promoted yet (its old master, pid ",
                 parent_master_pid_, ", is running)");
    return;
  }
  hooks_.pre_exec();
  start_new_master();
}

void Arbiter::start_new_master() {
  Result<std::string> binary = find_binary(setup_.argv[0], setup_.start_cwd);
  if (!binary) {
    log::error("USR2: cannot start a new master: ", binary.message());
    return;
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    log::error("USR2: pipe: ", std::strerror(errno));
    return;
  }
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  std::string pidfile = setup_.pidfile.path();
  if (!pidfile.empty()) {
    if (Status moved = setup_.pidfile.rename_to(pidfile + std::string(oldbin_suffix)); !moved) {
      log::error("USR2: ", moved.message());
      return;
    }
  }
  ExecPlan plan = make_exec_plan(std::move(*binary), setup_, ready_write.get(), metrics_socket_);
  log::info("USR2: starting a new master: ", plan.path);
  pid_t pid = fork_with_signals_blocked();
  if (pid == 0) exec_new_master(plan);
  if (pid < 0) {
    log::error("USR2: fork: ", std::strerror(errno));
    if (pidfile.empty()) return;
    if (Status back = setup_.pidfile.rename_to(pidfile); !back) log::error(back.message());
    return;
  }
  reexec_pid_ = pid;
  watch_new_master(std::move(ready_read));
  set_process_title(current_title(setup_.config));
}

void Arbiter::watch_new_master(UniqueFd ready) {
  fcntl(ready.get(), F_SETFL, fcntl(ready.get(), F_GETFL) | O_NONBLOCK);
  ready_watch_ = UvHandle<uv_poll_t>(&loop_, uv_poll_init, ready.get());
  new_master_ready_ = std::move(ready);
  if (!ready_watch_) return;
  ready_watch_->data = this;
  uv_poll_start(ready_watch_.get(), UV_READABLE, [](uv_poll_t* handle, int, int) {
    static_cast<Arbiter*>(handle->data)->on_ready_pipe();
  });
}

// One byte: the new master's workers serve. EOF: it exited first (the reap says how).
void Arbiter::on_ready_pipe() {
  char byte;
  ssize_t read = ::read(new_master_ready_.get(), &byte, 1);
  if (read < 0 && (errno == EAGAIN || errno == EINTR)) return;
  ready_watch_.reset();
  new_master_ready_.reset();
  if (read == 1) new_master_ready(reexec_pid_);
}

// systemd hears only the main pid (NotifyAccess=main), so this master names its successor, then
// falls silent: its STOPPING=1 on TERM would stop the service.
void Arbiter::new_master_ready(pid_t pid) {
  log::info("new master (pid ", pid, ") ready: TERM this master (pid ", getpid(),
            ") to complete the upgrade");
  setup_.notifier.hand_over(pid);
}

// nginx's rule: the old master takes its pidfile back, and the workers WINCH stopped; with them
// the unix socket files it left to the new master, and systemd's service (the new master, as it
// stopped, named this one the main pid again). Logged last, once all of it is done.
void Arbiter::reexec_exited(int status) {
  pid_t pid = std::exchange(reexec_pid_, 0);
  ready_watch_.reset();
  new_master_ready_.reset();
  std::string pidfile = setup_.pidfile.path();
  if (pidfile.ends_with(oldbin_suffix)) {
    std::string restored = pidfile.substr(0, pidfile.size() - oldbin_suffix.size());
    if (Status moved = setup_.pidfile.rename_to(restored); !moved) log::error(moved.message());
  }
  // Kept only by a stop while the new master ran: neither serves on them now.
  setup_.listeners.remove_kept_files();
  set_process_title(current_title(setup_.config));
  bool respawn = !stopping_ && target_workers_ == 0;
  if (respawn) target_workers_ = setup_.config.workers;
  setup_.notifier.take_back(active_workers());
  log::error("new master (pid ", pid, ") ", describe_master_exit(status),
             ": the old master keeps serving");
  if (respawn) log::info("Respawning the workers stopped by WINCH");
}

// The old master is gone once this one has another parent (init, or a subreaper).
void Arbiter::maybe_promote() {
  if (parent_master_pid_ == 0 || getppid() == parent_master_pid_) return;
  log::info("Master has been promoted: the old master (pid ", parent_master_pid_, ") is gone");
  parent_master_pid_ = 0;
  setup_.listeners.take_over_files();
}

void Arbiter::report_ready_once_booted() {
  if (!ready_to_report_ || !all_workers_booted()) return;
  write_all(ready_to_report_.get(), std::string_view("\1", 1));
  ready_to_report_.reset();
}

std::string Arbiter::current_title(const config::Config& config) const {
  return reexec_pid_ != 0 ? old_master_title(config.proc_name) : master_title(config.proc_name);
}

}  // namespace prefork::master
