// A serial queue of jobs on the libuv thread pool: one job at a time, in order. The master's
// storage work (a dead worker's final flush, then its cleanup, master metric writes, scrapes)
// runs here so that the loop never waits for Redis or the disk, while each worker's flush
// still happens before its cleanup.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>

namespace prefork::master {

class WorkLane {
 public:
  // work runs on a pool thread and returns false to be retried after retry_ms; done (may be
  // empty) runs on the loop once work succeeded.
  struct Job {
    std::function<bool()> work;
    std::function<void()> done;
  };

  WorkLane(uv_loop_t* loop, unsigned retry_ms);
  ~WorkLane();
  WorkLane(const WorkLane&) = delete;
  WorkLane& operator=(const WorkLane&) = delete;

  void push(Job job);
  // Runs the loop until the running job has finished, then (run_queued) the queued ones
  // until one fails; what is left is dropped. For shutdown.
  void drain(bool run_queued);
  bool idle() const { return !running_ && jobs_.empty(); }

 private:
  void start_next();
  static void run_job(uv_work_t* request);
  static void job_finished(uv_work_t* request, int status);

  uv_loop_t* loop_;
  unsigned retry_ms_;
  uv_work_t request_;
  uv_timer_t retry_timer_;
  std::deque<Job> jobs_;
  bool running_ = false;
  bool succeeded_ = false;
  bool timer_closed_ = false;
};

}  // namespace prefork::master
