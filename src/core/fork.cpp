#include "core/fork.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/fork_gate.hpp"

namespace prefork {

pid_t fork_with_signals_blocked() {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  fork_gate::close_for_fork();
  pid_t pid = ::fork();
  if (pid == 0) return 0;
  int fork_error = errno;
  fork_gate::open_after_fork();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = fork_error;
  return pid;
}

}  // namespace prefork
