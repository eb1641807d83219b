#include "master/exit_status.hpp"

#include <sys/wait.h>

#include <cstring>

#include "core/signal_name.hpp"

namespace prefork::master {

const char* exit_reason_name(ExitReason reason) {
  switch (reason) {
    case ExitReason::exited:
      return "exited";
    case ExitReason::signaled:
      return "signaled";
    case ExitReason::timeout:
      return "timeout";
    case ExitReason::boot_error:
      return "boot_error";
    case ExitReason::retired:
      return "retired";
  }
  return "exited";
}

std::string describe_exit(pid_t pid, int status) {
  std::string who = "Worker (pid:" + std::to_string(pid) + ")";
  if (WIFSIGNALED(status)) {
    int signum = WTERMSIG(status);
    std::string text = who + " was sent SIG" + signal_name(signum) + "!";
    if (signum == SIGKILL) text += " Perhaps out of memory?";
    return text;
  }
  return who + " exited with code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace prefork::master
