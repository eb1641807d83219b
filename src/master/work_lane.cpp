#include "master/work_lane.hpp"

#include <exception>

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
  if (!running_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&retry_timer_))) start_next();
}

void WorkLane::drain(bool run_queued) {
  for (;;) {
    while (running_) uv_run(loop_, UV_RUN_ONCE);
    if (!run_queued || jobs_.empty() || uv_is_active(reinterpret_cast<uv_handle_t*>(&retry_timer_)))
      break;
    start_next();
  }
  uv_timer_stop(&retry_timer_);
  jobs_.clear();
}

void WorkLane::start_next() {
  if (running_ || jobs_.empty()) return;
  running_ = true;
  uv_queue_work(loop_, &request_, run_job, job_finished);
}

void WorkLane::run_job(uv_work_t* request) {
  auto* lane = static_cast<WorkLane*>(request->data);
  try {
    lane->succeeded_ = lane->jobs_.front().work();
  } catch (const std::exception& error) {
    log::error("Metrics storage: ", error.what());
    lane->succeeded_ = false;
  }
}

void WorkLane::job_finished(uv_work_t* request, int) {
  auto* lane = static_cast<WorkLane*>(request->data);
  lane->running_ = false;
  if (!lane->succeeded_) {
    uv_timer_start(
        &lane->retry_timer_,
        [](uv_timer_t* timer) { static_cast<WorkLane*>(timer->data)->start_next(); },
        lane->retry_ms_, 0);
    return;
  }
  Job job = std::move(lane->jobs_.front());
  lane->jobs_.pop_front();
  if (job.done) job.done();
  lane->start_next();
}

}  // namespace prefork::master
