#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "master/exit_status.hpp"

namespace {

int status_of_child(void (*body)()) {
  pid_t pid = fork();
  if (pid == 0) body();
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("exit codes and signals read like gunicorn's messages") {
  int killed = status_of_child([] {
    kill(getpid(), SIGKILL);
    _exit(0);
  });
  CHECK(prefork::master::describe_exit(42, killed) ==
        "Worker (pid:42) was sent SIGKILL! Perhaps out of memory?");
  int terminated = status_of_child([] {
    // Whatever the test runner ignores or blocks, SIGTERM must end this child.
    signal(SIGTERM, SIG_DFL);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &term, nullptr);
    kill(getpid(), SIGTERM);
    _exit(0);
  });
  CHECK(prefork::master::describe_exit(7, terminated) == "Worker (pid:7) was sent SIGTERM!");
  int exited = status_of_child([] { _exit(3); });
  CHECK(prefork::master::describe_exit(7, exited) == "Worker (pid:7) exited with code 3");
}

TEST_CASE("exit reasons have metric-friendly names") {
  using prefork::master::ExitReason;
  CHECK(std::string(exit_reason_name(ExitReason::timeout)) == "timeout");
  CHECK(std::string(exit_reason_name(ExitReason::boot_error)) == "boot_error");
  CHECK(std::string(exit_reason_name(ExitReason::retired)) == "retired");
}
