// The master's side of metrics (design 5.3-5.6): picks the storage at start (Redis when
// enabled and reachable, files otherwise), tells each new worker where its values go, flushes
// and cleans up after dead workers, keeps the master's own metrics, and collects the
// aggregated view for /metrics. Every storage access runs on one WorkLane, so the master's
// loop never waits for Redis or the disk.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <prefork/metrics.hpp>
#include <string>

#include "config/config.hpp"
#include "master/reap_observer.hpp"
#include "master/work_lane.hpp"
#include "storage/redis/manager.hpp"

namespace prefork::master {

enum class StorageKind { file, redis };

class MasterMetrics final : public ReapObserver {
 public:
  // Null when config.metrics.enabled is false. Logs the storage it chose and why.
  static std::unique_ptr<MasterMetrics> start(const config::Config& config, uv_loop_t* loop);
  ~MasterMetrics() override;

  const config::Config& config() const { return config_; }
  StorageKind storage() const { return storage_; }
  // Redis was enabled but unreachable at start: files are used instead.
  bool redis_fallback() const { return redis_fallback_; }
  const std::string& directory() const { return directory_; }

  WorkerMetricsBoot prepare_worker() override;
  void worker_forked() override;
  void close_in_worker() override;
  void worker_reaped(const ReapedWorker& worker) override;
  void signal_handled(int signum) override;
  void workers_changed(int live) override;

  // The aggregated text 0.0.4 (ok) or why it could not be read; done runs on the loop.
  void scrape(std::function<void(bool ok, std::string text)> done);
  // Whether Redis answers a PING now (a fresh connection on the thread pool); done runs on
  // the loop. Always false in file mode.
  void check_redis(std::function<void(bool connected)> done);

  MasterMetrics(const config::Config& config, uv_loop_t* loop);

 private:
  void choose_storage();
  void use_files();
  void make_registry();
  void store_master_values();
  void start_refreshing();

  config::Config config_;
  uv_loop_t* loop_;
  StorageKind storage_ = StorageKind::file;
  bool redis_fallback_ = false;
  std::string directory_;
  bool own_directory_ = false;
  std::unique_ptr<storage::RedisStorageManager> redis_;
  int registry_slot_fd_ = -1;  // the master's own slot in Redis mode (the SlotStore owns it)
  std::unique_ptr<metrics::Registry> registry_;
  metrics::Counter* restarts_ = nullptr;
  metrics::Gauge* workers_ = nullptr;
  metrics::Counter* signals_ = nullptr;
  std::atomic<bool> master_values_queued_{false};
  // Redis: rewrites the master's values now and then, so that their TTL never runs out and a
  // Redis that restarted empty gets them back.
  uv_timer_t* refresh_timer_ = nullptr;
  WorkLane lane_;
};

}  // namespace prefork::master
