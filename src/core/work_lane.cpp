#include "core/work_lane.hpp"

#include <exception>
#include <string>

#include "core/fork_gate.hpp"
#include "core/log.hpp"

namespace prefork {

WorkLane::WorkLane(uv_loop_t* loop, std::string name, unsigned retry_ms)
    : loop_(loop), name_(std::move(name)), retry_ms_(retry_ms), retry_timer_(loop, uv_timer_init) {
  request_.data = this;
  retry_timer_->data = this;
}

WorkLane::~WorkLane() {
  drain(false);
}

void WorkLane::push(Job job) {
  jobs_.push_back(std::move(job));
  start_next();
}

// The jobs set aside are tried once more first (the storage may be back). The first failure
// ends the drain: the storage is away, and trying each job in turn would make shutdown wait
// one timeout per job.
void WorkLane::drain(bool run_queued) {
  uv_timer_stop(retry_timer_.get());
  draining_ = run_queued ? Draining::queued : Draining::running;
  if (run_queued) {
    jobs_.insert(jobs_.begin(), std::make_move_iterator(failed_.begin()),
                 std::make_move_iterator(failed_.end()));
  }
  failed_.clear();
  start_next();
  while (running_) uv_run(loop_, UV_RUN_ONCE);
  if (!jobs_.empty() || !failed_.empty())
    log::warning(name_, ": dropped at shutdown, jobs: ", jobs_.size() + failed_.size());
  jobs_.clear();
  failed_.clear();
  draining_ = Draining::no;
}

void WorkLane::start_next() {
  if (running_ || jobs_.empty()) return;
  if (draining_ == Draining::running || (draining_ == Draining::queued && !failed_.empty())) return;
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
  fork_gate::Hold gate;
  try {
    lane->outcome_ = lane->current_.work();
  } catch (const std::exception& thrown) {
    lane->outcome_ = Status::error(thrown.what());
  }
}

// Once per change of state, not once per retry.
void WorkLane::report(const Status& status) {
  if (status.ok() == last_status_.ok() && status.message() == last_status_.message()) return;
  if (status.ok()) {
    log::info(name_, ": working again");
  } else if (retry_ms_ > 0) {
    log::error(name_, ": ", status.message(), " (retrying every ", retry_ms_, " ms)");
  } else {
    log::error(name_, ": ", status.message());
  }
  last_status_ = status;
}

void WorkLane::job_finished(uv_work_t* request, int) {
  auto* lane = static_cast<WorkLane*>(request->data);
  lane->running_ = false;
  Job job = std::move(lane->current_);
  lane->current_ = {};
  Status outcome = std::move(lane->outcome_);
  lane->report(outcome);
  if (outcome.ok() || lane->retry_ms_ == 0) {
    if (job.done) job.done(outcome);
  } else {
    lane->failed_.push_back(std::move(job));
    if (lane->draining_ == Draining::no && !uv_is_active(lane->retry_timer_.base())) {
      uv_timer_start(
          lane->retry_timer_.get(),
          [](uv_timer_t* timer) { static_cast<WorkLane*>(timer->data)->retry_failed(); },
          lane->retry_ms_, 0);
    }
  }
  lane->start_next();
}

}  // namespace prefork
