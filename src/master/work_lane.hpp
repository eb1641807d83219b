// A serial queue of jobs on the libuv thread pool: one job at a time, in order. The master's
// storage work (a dead worker's final flush, then its cleanup, master metric writes, scrapes)
// runs here so that the loop never waits for Redis or the disk, while each worker's flush
// still happens before its cleanup.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace prefork::master {

class WorkLane {
 public:
  // work runs on a pool thread and returns false (or throws) to be retried after retry_ms;
  // done (may be empty) runs on the loop once work succeeded. A failed job is set aside
  // while the jobs behind it go on: a scrape never waits for Redis to come back.
  struct Job {
    std::function<bool()> work;
    std::function<void()> done;
  };

  WorkLane(uv_loop_t* loop, unsigned retry_ms);
  ~WorkLane();
  WorkLane(const WorkLane&) = delete;
  WorkLane& operator=(const WorkLane&) = delete;

  void push(Job job);
  // Runs the loop until the running job and (run_queued) the queued ones have been tried
  // once; what failed or was not tried is dropped. For shutdown.
  void drain(bool run_queued);
  bool idle() const { return !running_ && jobs_.empty() && failed_.empty(); }
  // Held by a pool thread for as long as a job of this lane runs (and by other pool work of
  // the master's that takes it). The master takes it around fork(): a child must never start
  // with a lock (the allocator's under sanitizers, the log's) held by a thread it does not have.
  std::mutex& fork_gate() { return fork_gate_; }

 private:
  void start_next();
  void retry_failed();
  void report(const std::string& error);
  static void run_job(uv_work_t* request);
  static void job_finished(uv_work_t* request, int status);

  uv_loop_t* loop_;
  unsigned retry_ms_;
  uv_work_t request_;
  uv_timer_t retry_timer_;
  // Touched on the loop thread only; the pool thread reads nothing but current_.
  std::deque<Job> jobs_;
  std::deque<Job> failed_;  // back into jobs_ when the retry timer fires
  Job current_;
  std::string last_error_;
  std::mutex fork_gate_;  // pool thread only (one job at a time)
  bool running_ = false;
  bool succeeded_ = false;
  bool timer_closed_ = false;
};

}  // namespace prefork::master
