// A worker's metrics: the registry over the storage the master chose (ARCHITECTURE.md;
// storage::WorkerSink) and the built-in metrics. Requests only ever write into memory.
#pragma once

#include <uv.h>
#include <prefork/metrics.hpp>

#include <memory>
#include <string>

#include "core/uv_handle.hpp"
#include "storage/backend.hpp"
#include "worker/builtin_metrics.hpp"
#include "worker/run.hpp"

namespace prefork::worker {

class WorkerMetrics {
 public:
  // Null when boot names no storage (metrics off). Throws when the storage cannot be used
  // (an unwritable directory, a bad slot, an unusable Redis configuration).
  static std::unique_ptr<WorkerMetrics> start(const Boot& boot, uv_loop_t* loop);
  // Its handles close; the loop must run afterwards to release them.
  ~WorkerMetrics() = default;
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  metrics::Registry& registry() { return registry_; }
  RequestObserver& observer() { return builtin_; }
  BuiltinMetrics& builtin() { return builtin_; }

  // Graceful exit: state 0, gauges read once more, and the sink's last flush, waited for up
  // to wait_ms while the storage is reachable. (After any exit the master reads the slot too.)
  void stop(std::uint64_t wait_ms = 1000);

 private:
  WorkerMetrics(const Boot& boot, uv_loop_t* loop, std::unique_ptr<storage::WorkerSink> sink);

  std::unique_ptr<storage::WorkerSink> sink_;
  metrics::Registry registry_;
  BuiltinMetrics builtin_;
  UvTimer gauge_timer_;
};

}  // namespace prefork::worker
