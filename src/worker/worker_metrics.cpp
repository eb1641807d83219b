#include "worker/worker_metrics.hpp"

namespace prefork::worker {
namespace {

constexpr std::uint64_t gauge_period_ms = 1000;

}  // namespace

std::unique_ptr<WorkerMetrics> WorkerMetrics::start(const Boot& boot, uv_loop_t* loop) {
  storage::WorkerPlace place{boot.metrics_dir, UniqueFd(boot.metrics_slot_fd), boot.metrics_redis};
  std::unique_ptr<storage::WorkerSink> sink =
      storage::open_worker_sink(*boot.config, std::move(place), loop);
  if (!sink) return nullptr;
  std::unique_ptr<WorkerMetrics> made(new WorkerMetrics(boot, loop, std::move(sink)));
  made->sink_->start(made->registry_.store());
  return made;
}

WorkerMetrics::WorkerMetrics(const Boot& boot, uv_loop_t* loop,
                             std::unique_ptr<storage::WorkerSink> sink)
    : sink_(std::move(sink)),
      registry_(sink_->make_store()),
      builtin_(registry_, boot.config->metrics.prefix, boot.position,
               {boot.config->metrics.duration_buckets, boot.config->metrics.size_buckets}),
      gauge_timer_(loop, uv_timer_init) {
  gauge_timer_->data = this;
  uv_timer_start(
      gauge_timer_.get(),
      [](uv_timer_t* timer) {
        static_cast<WorkerMetrics*>(timer->data)->builtin_.update_process_gauges();
      },
      gauge_period_ms, gauge_period_ms);
  // Never keeps the loop alive on its own.
  uv_unref(gauge_timer_.base());
}

void WorkerMetrics::stop(std::uint64_t wait_ms) {
  builtin_.mark_stopping();
  builtin_.update_process_gauges();
  sink_->stop(wait_ms);
}

}  // namespace prefork::worker
