// The Redis backend, worker side: the registry writes into the slot the master made before
// fork; a timer on the worker's loop sends the changed values to Redis, pipelined, every
// metrics.flush_interval_ms (RedisFlusher). The connection is made here, after fork: a Redis
// connection is never shared between processes.
#pragma once

#include "core/uv_handle.hpp"
#include "metrics/change_tracker.hpp"
#include "metrics/slot.hpp"
#include "storage/backend.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/flusher.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class RedisWorkerSink final : public WorkerSink {
 public:
  // endpoint: the master's (TLS files already loaded); null to resolve config.redis here.
  RedisWorkerSink(const config::Config& config, UniqueFd slot,
                  std::shared_ptr<const RedisEndpoint> endpoint, uv_loop_t* loop);
  ~RedisWorkerSink() override;

  std::unique_ptr<metrics::ValueStore> make_store() override;
  void start(const metrics::ValueStore& store) override;
  void stop(std::uint64_t wait_ms) override;

 private:
  void flush();

  const config::Config& config_;
  UniqueFd slot_;
  std::shared_ptr<const RedisEndpoint> endpoint_;
  uv_loop_t* loop_;
  const metrics::ValueStore* store_ = nullptr;
  metrics::SlotStore* slot_store_ = nullptr;  // store_ when it is the slot (owned by the registry)
  std::unique_ptr<RedisStorageClient> client_;
  std::unique_ptr<RedisStorageDict> dict_;
  std::unique_ptr<RedisFlusher> flusher_;
  metrics::ChangeTracker changes_;
  UvTimer flush_timer_;
};

}  // namespace prefork::storage
