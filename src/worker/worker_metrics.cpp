#include "worker/worker_metrics.hpp"

#include <unistd.h>

#include <stdexcept>

#include "metrics/slot.hpp"
#include "storage/file/file_store.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/flusher.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::worker {
namespace {

constexpr std::uint64_t gauge_period_ms = 1000;

void close_timer(uv_timer_t* timer) {
  if (!timer) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

}  // namespace

std::unique_ptr<WorkerMetrics> WorkerMetrics::start(const Boot& boot, uv_loop_t* loop) {
  const config::Config& config = *boot.config;
  std::string process = storage::process_name(config.metrics.instance, getpid());
  if (boot.metrics_slot_fd >= 0) {
    auto store = std::make_unique<metrics::SlotStore>(boot.metrics_slot_fd, process);
    std::unique_ptr<WorkerMetrics> made(new WorkerMetrics(boot, loop, std::move(store)));
    made->start_flushing(config);
    return made;
  }
  if (!boot.metrics_dir.empty()) {
    auto store = std::make_unique<storage::file::FileStore>(boot.metrics_dir, process);
    return std::unique_ptr<WorkerMetrics>(new WorkerMetrics(boot, loop, std::move(store)));
  }
  return nullptr;
}

WorkerMetrics::WorkerMetrics(const Boot& boot, uv_loop_t* loop,
                             std::unique_ptr<metrics::ValueStore> store)
    : loop_(loop),
      registry_(std::move(store)),
      builtin_(registry_, boot.config->metrics.prefix, boot.position) {
  gauge_timer_ = start_timer(
      loop_, this,
      [](uv_timer_t* timer) {
        static_cast<WorkerMetrics*>(timer->data)->builtin_.update_process_gauges();
      },
      gauge_period_ms);
}

// The connection is made here, after fork: a Redis connection is never shared between
// processes.
void WorkerMetrics::start_flushing(const config::Config& config) {
  storage::EndpointResult endpoint = storage::resolve_endpoint(config.redis);
  if (!endpoint.error.empty()) throw std::runtime_error("redis: " + endpoint.error);
  client_ = std::make_unique<storage::RedisStorageClient>(endpoint.endpoint);
  dict_ = std::make_unique<storage::RedisStorageDict>(
      *client_, config.redis.key_prefix, config.redis.ttl_seconds, config.metrics.instance);
  flusher_ = std::make_unique<storage::RedisFlusher>(*dict_, loop_);
  std::uint64_t period =
      config.metrics.flush_interval_ms > 0 ? std::uint64_t(config.metrics.flush_interval_ms) : 1000;
  flush_timer_ = start_timer(
      loop_, this, [](uv_timer_t* timer) { static_cast<WorkerMetrics*>(timer->data)->flush(); },
      period);
  flush();
}

// Unreferenced: the timers never keep the loop alive on their own.
uv_timer_t* WorkerMetrics::start_timer(uv_loop_t* loop, void* owner, uv_timer_cb tick,
                                       std::uint64_t period_ms) {
  auto* timer = new uv_timer_t;
  uv_timer_init(loop, timer);
  timer->data = owner;
  uv_timer_start(timer, tick, period_ms, period_ms);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer));
  return timer;
}

void WorkerMetrics::flush() {
  flusher_->write_values(changes_.changes(registry_.store()));
}

void WorkerMetrics::stop(std::uint64_t wait_ms) {
  builtin_.mark_stopping();
  builtin_.update_process_gauges();
  if (!flusher_) return;
  flush();
  if (!flusher_->is_connected()) return;
  // A referenced timer, so that a loop turn ends by the deadline at the latest.
  bool expired = false;
  auto* deadline = new uv_timer_t;
  uv_timer_init(loop_, deadline);
  deadline->data = &expired;
  uv_timer_start(
      deadline, [](uv_timer_t* timer) { *static_cast<bool*>(timer->data) = true; }, wait_ms, 0);
  while (!expired && !flusher_->is_idle()) uv_run(loop_, UV_RUN_ONCE);
  close_timer(deadline);
}

WorkerMetrics::~WorkerMetrics() {
  close_timer(gauge_timer_);
  close_timer(flush_timer_);
  flusher_.reset();
}

}  // namespace prefork::worker
