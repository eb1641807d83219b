#include "storage/redis/worker_sink.hpp"

#include <unistd.h>

#include <stdexcept>

#include "metrics/slot.hpp"
#include "storage/redis/endpoint.hpp"

namespace prefork::storage {

RedisWorkerSink::RedisWorkerSink(const config::Config& config, UniqueFd slot,
                                 std::shared_ptr<const RedisEndpoint> endpoint, uv_loop_t* loop)
    : config_(config), slot_(std::move(slot)), endpoint_(std::move(endpoint)), loop_(loop) {}

RedisWorkerSink::~RedisWorkerSink() {
  flush_timer_.reset();
  flusher_.reset();
}

std::unique_ptr<metrics::ValueStore> RedisWorkerSink::make_store() {
  auto store = std::make_unique<metrics::SlotStore>(
      slot_.release(),
      process_name(key_instance(config_.redis, config_.metrics.instance), getpid()));
  slot_store_ = store.get();
  return store;
}

void RedisWorkerSink::start(const metrics::ValueStore& store) {
  store_ = &store;
  std::string instance = key_instance(config_.redis, config_.metrics.instance);
  if (!endpoint_) {
    Result<RedisEndpoint> resolved = resolve_endpoint(config_.redis, instance);
    if (!resolved) throw std::runtime_error("redis: " + resolved.message());
    endpoint_ = std::make_shared<const RedisEndpoint>(std::move(*resolved));
  }
  client_ = std::make_unique<RedisStorageClient>(*endpoint_);
  dict_ = std::make_unique<RedisStorageDict>(*client_, config_.redis.key_prefix,
                                             config_.redis.key_ttl(), instance);
  flusher_ = std::make_unique<RedisFlusher>(*dict_, loop_, [this](long long client_id) {
    if (slot_store_) slot_store_->set_storage_client(double(client_id));
  });
  std::uint64_t period = std::uint64_t(config_.metrics.flush_interval_ms);
  flush_timer_ = UvTimer(loop_, uv_timer_init);
  flush_timer_->data = this;
  uv_timer_start(
      flush_timer_.get(),
      [](uv_timer_t* timer) { static_cast<RedisWorkerSink*>(timer->data)->flush(); }, period,
      period);
  // Never keeps the loop alive on its own.
  uv_unref(flush_timer_.base());
  flush();
}

void RedisWorkerSink::flush() {
  flusher_->write_values(changes_.changes(*store_));
}

// A worker stopped right after it started may still be connecting: that first connect is
// waited for. One that lost Redis stops at once (the master flushes its slot after the reap).
void RedisWorkerSink::stop(std::uint64_t wait_ms) {
  if (!flusher_) return;
  flush();
  auto unsent = [this] {
    return flusher_->is_connecting() || (flusher_->is_connected() && !flusher_->is_idle());
  };
  if (!unsent()) return;
  // A referenced timer, so that a loop turn ends by the deadline at the latest.
  bool expired = false;
  UvTimer deadline(loop_, uv_timer_init);
  deadline->data = &expired;
  uv_timer_start(
      deadline.get(), [](uv_timer_t* timer) { *static_cast<bool*>(timer->data) = true; }, wait_ms,
      0);
  while (!expired && unsent()) uv_run(loop_, UV_RUN_ONCE);
}

}  // namespace prefork::storage
