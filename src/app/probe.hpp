// Loading an app .so in a throwaway child: the parent learns whether a worker could load it
// without mapping the library itself (glibc hands a library already mapped at a path to every
// later dlopen of that path, in the process and in the children it forks).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "app/loader.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace prefork::app {

// How long a probe may take before it is killed: a static constructor that never returns.
inline constexpr std::chrono::milliseconds probe_time_limit{10000};

// The child runs the library's static constructors and checks the PREFORK_APP symbol (open_app),
// reports through a pipe and exits; it never calls the factory. Destroying a Probe closes the
// pipe and leaves the child alone: the process that reaps it decides.
class Probe {
 public:
  // Forks the child (signals blocked around fork, as for a worker) or says why it could not.
  // in_child runs first in the child, with every signal blocked, to make it what a worker is
  // (the parent's signal handlers reset, the user and group the master drops to); its error is
  // the probe's.
  static Result<Probe> start(const std::string& spec,
                             std::chrono::milliseconds limit = probe_time_limit,
                             const std::function<Status()>& in_child = {});

  pid_t pid() const { return pid_; }
  // SIGKILL once the time limit has passed; true when it sent it.
  bool kill_if_overdue();
  // The verdict on the child reaped with wait_status: the app with a null factory, or why a
  // worker could not load it.
  LoadOutcome outcome(int wait_status);
  // Waits for the child and reaps it (at start-up, when nothing else runs).
  LoadOutcome wait();

 private:
  Probe(pid_t pid, UniqueFd report, std::string spec, std::chrono::milliseconds limit)
      : pid_(pid), report_(std::move(report)), spec_(std::move(spec)), limit_(limit) {}
  std::string read_report();

  pid_t pid_ = -1;
  UniqueFd report_;  // the pipe's read end; the child writes its error, if any, and exits
  std::string spec_;
  std::chrono::milliseconds limit_;
  std::int64_t started_ms_ = monotonic_ms();
  bool killed_ = false;
};

// resolve() for a master that must not map the app: a .so is loaded only in a probe, which this
// call waits for; the outcome's factory is then null, and workers open the .so themselves.
LoadOutcome check_in_child(const std::string& spec, AppFactory linked_factory,
                           const std::function<Status()>& in_child = {});

}  // namespace prefork::app
