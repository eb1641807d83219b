// The hook the master calls for every reaped worker, before it respawns a replacement.
#pragma once

#include <sys/types.h>

#include <string>

#include "storage/backend.hpp"

namespace prefork::master {

enum class ExitReason {
  exited,      // left on its own with a status code (max_requests recycling, a crash by exit())
  signaled,    // killed by a signal nobody in the master sent
  timeout,     // silent past `timeout`: the master sent SIGABRT (then SIGKILL)
  boot_error,  // the app could not be created: the master stops
  retired,     // the master asked it to stop (HUP, TTOU, WINCH, shutdown)
};
// Every reason (a new one goes here too): the restart metric exports each from 0.
inline constexpr ExitReason exit_reasons[] = {ExitReason::exited, ExitReason::signaled,
                                              ExitReason::timeout, ExitReason::boot_error,
                                              ExitReason::retired};

const char* exit_reason_name(ExitReason reason);

struct ReapedWorker {
  pid_t pid = 0;
  int id = 0;        // Worker::id()
  int position = 0;  // 1 … workers, the worker_id label of its metrics
  int status = 0;    // as returned by waitpid
  ExitReason reason = ExitReason::exited;
};

// Per-reap work that does not belong to the process model itself (e.g. flushing the worker's
// final metric values, storage cleanup_dead_worker(pid), counting restart reasons). Runs on
// the master's loop; must not block.
class ReapObserver {
 public:
  virtual ~ReapObserver() = default;
  virtual void worker_reaped(const ReapedWorker& worker) = 0;
  // Before each fork: where the new worker's metric values go. Never waits.
  virtual storage::WorkerPlace prepare_worker() { return {}; }
  // In the master, right after that fork; pid < 0 when it failed. position as in ReapedWorker.
  virtual void worker_forked(pid_t /*pid*/, int /*position*/) {}
  // In the child, right after fork: closes descriptors of the master's that a worker must
  // not keep. Must not touch the loop or free memory (the master's objects are not destroyed
  // in workers).
  virtual void close_in_worker() {}
  // A signal the master acted on (SIGCHLD included), and the worker count after a change.
  virtual void signal_handled(int /*signum*/) {}
  virtual void workers_changed(int /*live*/) {}
};

}  // namespace prefork::master
