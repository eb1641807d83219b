// fork() for a process with signal handlers and pool threads (the master): every child it makes
// (worker, app probe, new master) starts the same way.
#pragma once

#include <sys/types.h>

namespace prefork {

// fork() with every signal blocked and the fork gate (core/fork_gate.hpp) closed around it.
// Until the child has reset the parent's handlers, a signal it received would run them: libuv's
// writes into the parent's signal pipe, and the parent would handle the child's signal as its
// own. Returns 0 in the child, with every signal still blocked: the child resets its handlers,
// then sets the mask it wants. In the parent the mask and the gate are as before, and on failure
// (-1) errno is fork's.
pid_t fork_with_signals_blocked();

}  // namespace prefork
