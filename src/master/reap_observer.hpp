// The hook the master calls for every reaped worker, before it respawns a replacement.
#pragma once

#include <sys/types.h>

namespace prefork::master {

enum class ExitReason {
  exited,      // left on its own with a status code (max_requests recycling, a crash by exit())
  signaled,    // killed by a signal nobody in the master sent
  timeout,     // silent past `timeout`: the master sent SIGABRT (then SIGKILL)
  boot_error,  // the app could not be created: the master stops
  retired,     // the master asked it to stop (HUP, TTOU, WINCH, shutdown)
};

const char* exit_reason_name(ExitReason reason);

struct ReapedWorker {
  pid_t pid = 0;
  int id = 0;      // Worker::id()
  int status = 0;  // as returned by waitpid
  ExitReason reason = ExitReason::exited;
};

// Per-reap work that does not belong to the process model itself (e.g. flushing the worker's
// final metric values, storage cleanup_dead_worker(pid), counting restart reasons). Runs on
// the master's loop; must not block.
class ReapObserver {
 public:
  virtual ~ReapObserver() = default;
  virtual void worker_reaped(const ReapedWorker& worker) = 0;
};

}  // namespace prefork::master
