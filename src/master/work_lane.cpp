#include "master/work_lane.hpp"

#include <exception>
#include <string>

#include "core/log.hpp"

namespace prefork::master {

WorkLane::WorkLane(uv_loop_t* loop, unsigned retry_ms) : loop_(loop), retry_ms_(retry_ms) {
  request_.data = this;
  uv_timer_init(loop_, &retry_timer_);
  retry_timer_.data = this;
}

WorkLane::~WorkLane() {
  drain(false);
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_),
           [](uv_handle_t* handle) { static_cast<WorkLane*>(handle->data)->timer_closed_ = true; });
  while (!timer_closed_) uv_run(loop_, UV_RUN_ONCE);
}

void WorkLane::push(Job job) {
  jobs_.push_back(std::move(job));
  start_next();
}

void WorkLane::drain(bool run_queued) {
  while (running_ || (run_queued && !jobs_.empty())) {
    start_next();
    uv_run(loop_, UV_RUN_ONCE);
  }
  uv_timer_stop(&retry_timer_);
  jobs_.clear();
  failed_.clear();
}

void WorkLane::start_next() {
  if (running_ || jobs_.empty()) return;
  current_ = std::move(jobs_.front());
  jobs_.pop_front();
  running_ = true;
  uv_queue_work(loop_, &request_, run_job, job_finished);
}

void WorkLane::retry_failed() {
  for (Job& job : failed_) jobs_.push_back(std::move(job));
  failed_.clear();
  start_next();
}

void WorkLane::run_job(uv_work_t* request) {
  auto* lane = static_cast<WorkLane*>(request->data);
  std::lock_guard gate(lane->fork_gate_);
  std::string error;
  try {
    lane->succeeded_ = lane->current_.work();
  } catch (const std::exception& thrown) {
    error = thrown.what();
    lane->succeeded_ = false;
  }
  lane->report(error);
}

// Once per outage, not once per retry.
void WorkLane::report(const std::string& error) {
  if (error == last_error_) return;
  if (error.empty()) {
    log::info("Metrics storage: working again");
  } else {
    log::error("Metrics storage: ", error, " (retrying every ", retry_ms_, " ms)");
  }
  last_error_ = error;
}

void WorkLane::job_finished(uv_work_t* request, int) {
  auto* lane = static_cast<WorkLane*>(request->data);
  lane->running_ = false;
  Job job = std::move(lane->current_);
  lane->current_ = {};
  if (lane->succeeded_) {
    if (job.done) job.done();
  } else {
    lane->failed_.push_back(std::move(job));
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&lane->retry_timer_))) {
      uv_timer_start(
          &lane->retry_timer_,
          [](uv_timer_t* timer) { static_cast<WorkLane*>(timer->data)->retry_failed(); },
          lane->retry_ms_, 0);
    }
  }
  lane->start_next();
}

}  // namespace prefork::master
