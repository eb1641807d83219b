// A module whose static constructor unblocks every signal and raises SIGTERM: in a probe that
// kept the master's handlers, the master would take that TERM for its own and stop.
#include <csignal>

namespace {
[[gnu::constructor]] void raise_term() {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  raise(SIGTERM);
}
}  // namespace
