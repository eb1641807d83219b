// RedisFlusher: a worker's asynchronous writer. It remembers the last value of every series
// it was given and sends changed ones in one pipelined batch per flush over the client's
// libuv connection. When Redis goes away values keep accumulating here; after reconnecting it
// re-sends everything (absolute values make that idempotent), so nothing written is lost even
// if Redis restarted empty. A timer refreshes the TTLs of its processes and of the archive
// (none without a TTL).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/uv_handle.hpp"
#include "metrics/sample.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class RedisFlusher {
 public:
  struct Stats {
    std::uint64_t batches = 0;         // batches Redis confirmed
    std::uint64_t values = 0;          // values in those batches
    std::uint64_t failed_batches = 0;  // lost with the connection or refused
    std::uint64_t connects = 0;        // handshakes completed
  };

  // Called with the connection's CLIENT ID on every (re)connect, before anything is sent on it.
  using Identified = std::function<void(long long client_id)>;

  // Attaches the dict's client to loop (its non-blocking connection starts connecting).
  RedisFlusher(RedisStorageDict& dict, uv_loop_t* loop, Identified identified = {});
  // Detaches the connection; values not yet confirmed are dropped with it.
  ~RedisFlusher();
  RedisFlusher(const RedisFlusher&) = delete;
  RedisFlusher& operator=(const RedisFlusher&) = delete;

  void write_values(const std::vector<metrics::ProcessValues>& changed);

  bool is_connected() const;
  bool is_connecting() const;
  // Nothing waits to be sent and no batch is in flight.
  bool is_idle() const { return dirty_.empty() && !sending_; }
  const Stats& stats() const { return stats_; }
  const std::string& last_error() const;

 private:
  struct Entry {
    std::string kind;
    std::string process;
    std::string md5;
    metrics::StoredValue value;
    bool meta_sent = false;  // meta hash and index entry written on this connection
    bool dirty = false;
  };

  void on_ready();
  void send_dirty();
  void on_batch_done(bool ok);
  void send_touch();
  void mark_dirty(Entry& entry);

  RedisStorageDict& dict_;
  Identified identified_;
  AsyncConnection* connection_;
  std::unordered_map<std::string, Entry> entries_;  // node-based: Entry* stay valid
  std::vector<Entry*> dirty_;
  std::vector<Entry*> in_flight_;
  std::set<std::string> processes_;
  bool sending_ = false;
  bool closing_ = false;
  bool outage_reported_ = false;
  UvTimer touch_timer_;
  Stats stats_;
};

}  // namespace prefork::storage
