// A worker's metrics: the registry over the storage the master chose (design 5.3, 5.4), the
// built-in metrics, and, for Redis, the flusher that copies changed values from the slot to
// Redis on the worker's loop. Requests only ever write into memory (a .db file or the slot).
#pragma once

#include <uv.h>
#include <prefork/metrics.hpp>

#include <memory>
#include <string>

#include "metrics/change_tracker.hpp"
#include "worker/builtin_metrics.hpp"
#include "worker/run.hpp"

namespace prefork::storage {
class RedisFlusher;
class RedisStorageClient;
class RedisStorageDict;
}  // namespace prefork::storage

namespace prefork::worker {

class WorkerMetrics {
 public:
  // Null when boot names no storage (metrics off). Throws when the storage cannot be used
  // (an unwritable directory, a bad slot, an unusable Redis configuration).
  static std::unique_ptr<WorkerMetrics> start(const Boot& boot, uv_loop_t* loop);
  // Closes its handles; the loop must run afterwards to release them.
  ~WorkerMetrics();
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  metrics::Registry& registry() { return registry_; }
  RequestObserver& observer() { return builtin_; }

  // Graceful exit: state 0, gauges read once more, and with Redis a last flush, waited for
  // up to wait_ms while Redis is reachable. (After any exit the master flushes the slot too.)
  void stop(std::uint64_t wait_ms = 1000);

 private:
  WorkerMetrics(const Boot& boot, uv_loop_t* loop, std::unique_ptr<metrics::ValueStore> store);
  void start_flushing(const config::Config& config);
  void flush();
  static uv_timer_t* start_timer(uv_loop_t* loop, void* owner, uv_timer_cb tick,
                                 std::uint64_t period_ms);

  uv_loop_t* loop_;
  metrics::Registry registry_;
  BuiltinMetrics builtin_;
  uv_timer_t* gauge_timer_ = nullptr;
  // Redis storage only.
  std::unique_ptr<storage::RedisStorageClient> client_;
  std::unique_ptr<storage::RedisStorageDict> dict_;
  std::unique_ptr<storage::RedisFlusher> flusher_;
  metrics::ChangeTracker changes_;
  uv_timer_t* flush_timer_ = nullptr;
};

}  // namespace prefork::worker
