// The Redis backend, master side (ARCHITECTURE.md). Each worker writes into a shared-memory
// slot the master made before fork and flushes it to Redis itself; when the worker is reaped
// the master reads the slot at once (so no slot outlives its worker in the master), writes
// its last values and folds them into the archive on the write lane.
//
// Writes (dead workers, the master's own values; retried while Redis is away) have a
// connection and a lane of their own, so that they never wait behind a scrape or a health
// check, which the RedisReader inside serves on its own two.
//
// Nothing is lost when Redis loses data (restarted empty, a failover that dropped acknowledged
// writes): workers write everything again on every reconnect, the master its own values on
// every refresh and the archive, which it keeps in memory, whenever its write connection is
// new; until then scrapes serve no counter lower than before (CounterFloor).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/work_lane.hpp"
#include "metrics/slot.hpp"
#include "storage/backend.hpp"
#include "storage/redis/manager.hpp"
#include "storage/redis/redis_reader.hpp"

namespace prefork::storage {

class RedisBackend final : public Backend {
 public:
  // An error when Redis cannot be used now.
  static Result<std::unique_ptr<RedisBackend>> open(const config::Config& config, uv_loop_t* loop);
  ~RedisBackend() override;

  WorkerPlace prepare_worker() override;
  void worker_forked(pid_t pid) override;
  void close_in_child() override;
  void worker_reaped(pid_t pid, std::function<void()> done) override;
  std::unique_ptr<metrics::ValueStore> master_store() override;
  void master_values_changed() override;
  void scrape(std::function<void(Result<std::string>)> done) override;
  void check_health(std::function<void(const Health&)> done) override;
  void shut_down() override;
  bool redis_fallback() const override { return false; }

  RedisBackend(const config::Config& config, uv_loop_t* loop,
               std::unique_ptr<RedisStorageManager> writes);

 private:
  void start_refreshing();
  void cleanup_earlier_run();
  std::string process_of(long pid) const;
  // A reaped worker on its way out of Redis: its final values and its connection's id.
  struct Retiree {
    std::string process;
    metrics::SlotContents slot;
    std::function<void()> done;
  };
  void take_retirees(std::vector<Retiree>& batch);
  void retire(std::vector<Retiree>& batch);
  void restore_if_reconnected();

  const config::Config& config_;
  uv_loop_t* loop_;
  std::unique_ptr<RedisStorageManager> writes_;           // its client is the write lane's
  std::shared_ptr<const RedisEndpoint> worker_endpoint_;  // handed to each worker at fork
  WorkLane write_lane_;
  RedisReader reader_;

  UniqueFd pending_slot_;            // made for the worker being forked now
  std::map<pid_t, UniqueFd> slots_;  // live workers' slots, read when they are reaped
  int master_slot_fd_ = -1;          // owned by the master's SlotStore
  metrics::ValueStore* master_store_ = nullptr;
  std::atomic<bool> master_values_queued_{false};
  // Rewrites the master's values now and then, so that their TTL never runs out and a
  // Redis that restarted empty gets them back.
  UvTimer refresh_timer_;

  std::mutex retiring_mutex_;      // the loop adds to retiring_, the write lane takes it
  std::vector<Retiree> retiring_;  // reaped, not yet taken by a retire job
  bool retire_queued_ = false;     // a retire job is queued and has not taken retiring_ yet
  bool kill_refused_ = false;      // write lane only: CLIENT KILL was refused and that was said
  std::uint64_t restored_at_ = 0;  // write lane only: the connection the archive was written on
};

}  // namespace prefork::storage
