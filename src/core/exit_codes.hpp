// The exit codes of prefork's processes, as gunicorn uses them; supervisors and tests rely on
// them. The master's code tells why it stopped; a worker's tells the master whether to go on.
#pragma once

namespace prefork {

inline constexpr int exit_ok = 0;
// Binding, the pidfile and other failures at start-up.
inline constexpr int exit_startup = 1;
// Bad flags or configuration (what the config loader reports).
inline constexpr int exit_usage = 2;
// gunicorn's WORKER_BOOT_ERROR: the app cannot be loaded or a worker cannot boot; a worker
// exiting with it makes the master stop rather than fork in a loop.
inline constexpr int exit_boot_error = 3;

}  // namespace prefork
