// The Redis reader: the scrape and health half of the Redis backend (ARCHITECTURE.md). It
// writes nothing and cleans nothing up, so it serves a master (inside RedisBackend) and a
// process that only serves what others stored (`prefork metrics`) alike.
//
// Two connections, each on its own lane, so that a slow scrape never delays /health: scrapes
// (one consistent snapshot, merged; no counter served lower than before, CounterFloor) and
// health checks (a PING that /health waits for at most health_budget_ms).
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "core/uv_handle.hpp"
#include "core/work_lane.hpp"
#include "metrics/counter_floor.hpp"
#include "storage/backend.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/cluster_fleet.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class RedisReader final : public Reader {
 public:
  // Does not connect yet: the first scrape or health check does.
  RedisReader(const config::Config& config, uv_loop_t* loop, const RedisEndpoint& endpoint);
  ~RedisReader() override;

  void scrape(std::function<void(Result<std::string>)> done) override;
  void check_health(std::function<void(const Health&)> done) override;
  // Answers waiting health checks and lets a running scrape finish.
  void shut_down() override;

  // In a new worker: its sockets belong to the master.
  void close_in_child();

 private:
  struct HealthWaiter {
    std::function<void(const Health&)> done;
    UvTimer budget;
  };
  void answer_health(bool connected);
  std::string render_scrape();

  uv_loop_t* loop_;
  RedisStorageClient scrape_client_;  // the scrape lane's
  RedisStorageDict scrape_dict_;
  std::unique_ptr<ClusterFleet> fleet_;  // fleet scope in a cluster, on the scrape lane
  RedisMultiProcessCollector collector_;
  metrics::CounterFloor floor_;       // scrape lane only
  RedisStorageClient health_client_;  // the health lane's
  WorkLane scrape_lane_;
  WorkLane health_lane_;
  bool connected_ = true;  // the last health check's answer
  std::vector<std::unique_ptr<HealthWaiter>> health_waiters_;
};

}  // namespace prefork::storage
