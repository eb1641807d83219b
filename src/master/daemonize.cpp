#include "master/daemonize.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/exit_codes.hpp"
#include "core/log.hpp"

namespace prefork::master {
namespace {

void redirect_to_null(int fd) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (null) ::dup2(null.get(), fd);
}

// The launching process: a byte on the pipe is the daemon serving; end of file, the daemon
// (and with it the pipe's last write end) gone. Its signals are unblocked so that Ctrl-C ends
// the wait; the daemon, in its own session, does not get it.
[[noreturn]] void wait_for_daemon(UniqueFd report, pid_t child) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  char byte = 0;
  ssize_t n = 0;
  do {
    n = ::read(report.get(), &byte, 1);
  } while (n < 0 && errno == EINTR);
  ::_exit(n == 1 ? exit_ok : exit_startup);
}

}  // namespace

Result<Daemon> Daemon::detach(const config::Config& config) {
  if (config.errorlog == "-")
    log::warning("--daemon with errorlog \"-\": the log goes to /dev/null once the master serves");
  if (config.accesslog == "-")
    log::warning("--daemon with accesslog \"-\": the access log goes to /dev/null");
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    return Result<Daemon>::error(std::string("daemon: pipe: ") + std::strerror(errno));
  UniqueFd wait_end(ends[0]);
  UniqueFd report(ends[1]);
  // What stdio holds is written once, not once more by each process that exits.
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return Result<Daemon>::error(std::string("daemon: fork: ") + std::strerror(errno));
  if (child > 0) {
    report.reset();
    wait_for_daemon(std::move(wait_end), child);
  }
  wait_end.reset();
  // A new session without a terminal; the second fork leaves a process that is not its leader,
  // so that opening a terminal can never make one its controlling terminal.
  ::setsid();
  pid_t daemon = ::fork();
  if (daemon < 0) {
    log::error("daemon: fork: ", std::strerror(errno));
    ::_exit(exit_startup);
  }
  if (daemon > 0) ::_exit(exit_ok);
  log::info("Detached from the terminal: master pid ", getpid());
  redirect_to_null(STDIN_FILENO);
  redirect_to_null(STDOUT_FILENO);
  return Daemon(std::move(report));
}

void Daemon::serving() {
  if (!report_) return;
  redirect_to_null(STDERR_FILENO);
  char byte = 1;
  [[maybe_unused]] ssize_t written = ::write(report_.get(), &byte, 1);
  report_.reset();
}

}  // namespace prefork::master
