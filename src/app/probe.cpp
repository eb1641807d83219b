#include "app/probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <string_view>

#include "core/exit_codes.hpp"
#include "core/fork.hpp"
#include "core/signal_name.hpp"

namespace prefork::app {
namespace {

// What a probe that loaded the app writes when the app also has PREFORK_HOOKS.
constexpr char has_hooks_report[] = {'H'};

// In the child, with every signal still blocked: in_child resets the master's handlers before
// the app's static constructors run.
[[noreturn]] void probe_and_exit(const std::string& spec, const std::function<Status()>& in_child,
                                 int report) {
  Status status = in_child ? in_child() : Status();
  LoadOutcome opened;
  if (status.ok()) {
    opened = open_app(spec);
    status = opened.status;
  }
  if (status.ok()) {
    if (opened.app.has_hooks) {
      [[maybe_unused]] ssize_t written = ::write(report, has_hooks_report, sizeof has_hooks_report);
    }
    _exit(exit_ok);
  }
  // One write of at most PIPE_BUF bytes: whole, and without blocking on an empty pipe.
  const std::string& message = status.message();
  [[maybe_unused]] ssize_t written =
      ::write(report, message.data(), std::min<std::size_t>(message.size(), PIPE_BUF));
  _exit(exit_boot_error);
}

std::string duration_text(std::chrono::milliseconds limit) {
  if (limit.count() % 1000 == 0) return std::to_string(limit.count() / 1000) + " s";
  return std::to_string(limit.count()) + " ms";
}

}  // namespace

Result<Probe> Probe::start(const std::string& spec, std::chrono::milliseconds limit,
                           const std::function<Status()>& in_child) {
  if (Result<std::string> name = app_name(spec); !name) return name.status();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return Status::error(std::string("app probe: pipe: ") + std::strerror(errno));
  UniqueFd report(fds[0]);
  UniqueFd child_end(fds[1]);
  pid_t pid = fork_with_signals_blocked();
  if (pid == 0) probe_and_exit(spec, in_child, child_end.get());
  if (pid < 0) return Status::error(std::string("app probe: fork: ") + std::strerror(errno));
  return Probe(pid, std::move(report), spec, limit);
}

bool Probe::kill_if_overdue() {
  if (killed_ || monotonic_ms() < started_ms_ + limit_.count()) return false;
  ::kill(pid_, SIGKILL);
  killed_ = true;
  return true;
}

std::string Probe::read_report() {
  std::string text;
  char buffer[PIPE_BUF];
  ssize_t n;
  while ((n = ::read(report_.get(), buffer, sizeof buffer)) > 0)
    text.append(buffer, std::size_t(n));
  return text;
}

LoadOutcome Probe::outcome(int wait_status) {
  LoadOutcome outcome;
  std::string report = read_report();
  std::string who = "app \"" + spec_ + "\": ";
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == exit_ok) {
    outcome.app.name = app_name(spec_).value();
    outcome.app.spec = spec_;
    outcome.app.has_hooks = report == std::string_view(has_hooks_report, sizeof has_hooks_report);
  } else if (killed_) {
    outcome.status = Status::error(who + "loading it took longer than " + duration_text(limit_) +
                                   " (a static constructor that does not return?)");
  } else if (!report.empty()) {
    outcome.status = Status::error(report);
  } else if (WIFSIGNALED(wait_status)) {
    outcome.status = Status::error(who + "the process loading it died of SIG" +
                                   signal_name(WTERMSIG(wait_status)));
  } else {
    outcome.status = Status::error(who + "the process loading it exited with code " +
                                   std::to_string(WEXITSTATUS(wait_status)));
  }
  return outcome;
}

LoadOutcome Probe::wait() {
  // No events asked for: only the hang-up, when the child has exited, ends the wait early.
  pollfd ready{report_.get(), 0, 0};
  for (;;) {
    std::int64_t left = started_ms_ + limit_.count() - monotonic_ms();
    if (left <= 0) {
      kill_if_overdue();
      break;
    }
    int n = ::poll(&ready, 1, int(left));
    if (n < 0 && errno != EINTR) break;
    if (n > 0) break;
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  return outcome(status);
}

LoadOutcome check_in_child(const std::string& spec, AppFactory linked_factory,
                           const std::function<Status()>& in_child) {
  if (spec.empty()) return resolve(spec, linked_factory);
  Result<Probe> probe = Probe::start(spec, probe_time_limit, in_child);
  if (!probe) {
    LoadOutcome outcome;
    outcome.status = probe.status();
    return outcome;
  }
  return probe->wait();
}

}  // namespace prefork::app
