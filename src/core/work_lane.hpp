// A serial queue of jobs on the libuv thread pool: one job at a time, in order, so that (for
// example) a dead worker's final values are written before its cleanup runs. Storage work of
// the master runs on lanes so that its loop never waits for Redis or the disk; each lane has
// its own connection, so a slow cleanup never delays a scrape on another lane.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "core/uv_handle.hpp"

namespace prefork {

class WorkLane {
 public:
  // work runs on a pool thread holding the fork gate (core/fork_gate.hpp); an exception it
  // throws counts as an error Status. done (may be empty) runs on the loop.
  struct Job {
    std::function<Status()> work;
    std::function<void(const Status&)> done;
  };

  // retry_ms > 0: a failed job is set aside and tried again after retry_ms while the jobs
  // behind it go on; done runs once it succeeded. retry_ms == 0: done runs with the failure.
  // name prefixes the lane's log lines, which say when it fails and when it works again.
  WorkLane(uv_loop_t* loop, std::string name, unsigned retry_ms);
  // Waits for a running job (its work may point into the lane's owner), drops the others.
  ~WorkLane();
  WorkLane(const WorkLane&) = delete;
  WorkLane& operator=(const WorkLane&) = delete;

  void push(Job job);
  // Runs the loop until the running job and (run_queued) the queued and set-aside ones have
  // been tried once, or one of them failed; what failed or was not tried is dropped (and
  // counted in a warning). For shutdown.
  void drain(bool run_queued);
  bool idle() const { return !running_ && jobs_.empty() && failed_.empty(); }
  bool running() const { return running_; }
  // The outcome of the last job that finished (ok before any).
  const Status& last_status() const { return last_status_; }

 private:
  void start_next();
  void retry_failed();
  void report(const Status& status);
  static void run_job(uv_work_t* request);
  static void job_finished(uv_work_t* request, int status);

  uv_loop_t* loop_;
  std::string name_;
  unsigned retry_ms_;
  uv_work_t request_;
  UvTimer retry_timer_;
  // Touched on the loop thread only; the pool thread reads current_ and writes outcome_.
  std::deque<Job> jobs_;
  std::deque<Job> failed_;  // back into jobs_ when the retry timer fires
  Job current_;
  Status outcome_;
  Status last_status_;
  bool running_ = false;
  // While draining: running = only the running job finishes; queued = the queued ones run
  // until one fails.
  enum class Draining { no, running, queued };
  Draining draining_ = Draining::no;
};

}  // namespace prefork
