// RedisStorageDict: the seed's dictionary of stored values, addressed by (kind, process, JSON
// key). Every call here is blocking (master, startup, collection, handler code that accepts
// a round trip); workers flush through RedisFlusher instead.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics/sample.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/snapshot_plan.hpp"

namespace prefork::storage {

// One stored series: its kind, the process that owns it and its JSON key.
struct Series {
  metrics::ValueKind kind;
  std::string process;
  std::string key;
};

// One series of the archive as it was last written.
struct ArchivedSeries {
  std::string kind_token;
  std::string md5;
  std::string original_key;
  metrics::StoredValue value;
};

using ProcessFilter = std::function<bool(std::string_view process)>;

struct CleanupResult {
  std::size_t folded = 0;   // values added into the archive
  std::size_t deleted = 0;  // series removed (folded ones and live gauges)
  std::size_t kept = 0;     // "all" gauges, kept per process until their TTL expires
};

class RedisStorageDict {
 public:
  // instance names the archive ("{instance}-archive", or "archive") that cleanup folds into.
  // ttl_seconds 0: keys never expire (REDIS_TTL_DISABLED).
  RedisStorageDict(RedisStorageClient& client, std::string key_prefix, int ttl_seconds,
                   std::string instance = "");
  RedisStorageDict(const RedisStorageDict&) = delete;
  RedisStorageDict& operator=(const RedisStorageDict&) = delete;

  const RedisKeys& layout() const { return layout_; }
  int ttl_seconds() const { return ttl_seconds_; }
  const std::string& instance() const { return instance_; }
  std::string archive() const { return archive_process(instance_); }
  RedisStorageClient& client() { return client_; }

  // Seconds since the epoch by Redis' clock (TIME, re-measured every minute), or the local
  // clock when Redis cannot say.
  double now();

  std::optional<metrics::StoredValue> read_value(const Series& series);
  void write_value(const Series& series, double value, double timestamp);
  // All values in one round trip: what the master does with a dead worker's final values.
  // Meta hashes and index entries only for series not written since the last reconnect or
  // within a third of the TTL.
  void write_values(const std::vector<metrics::ProcessValues>& batch);
  void update(const std::vector<metrics::ProcessValues>& batch) { write_values(batch); }

  bool contains(const Series& series);
  bool erase(const Series& series);
  // Map-like access to one process's values (its keys, values, items, size, clear).
  std::vector<Series> keys(std::string_view process);
  std::vector<double> values(std::string_view process);
  std::vector<metrics::ProcessValues> items(std::string_view process);
  std::size_t size(std::string_view process);
  void clear(std::string_view process);

  // Processes in the index, and every stored value of all of them as one consistent snapshot
  // (values read while the index and the process sets are watched, then an empty MULTI/EXEC).
  // Timestamps are read only for mostrecent gauges, the one kind whose aggregation uses them; other
  // values have 0. keep (when given) chooses which of the index's processes are read.
  std::vector<std::string> processes();
  std::vector<metrics::ProcessValues> snapshot(const ProcessFilter& keep = {});
  // How many JSON keys the snapshots keep (those of the series they read).
  std::size_t known_keys() const { return original_keys_.size(); }

  // Deletes the process's live gauges, folds its counters, summaries, histograms and
  // min/max/sum/mostrecent gauges into the archive in one MULTI/EXEC (retried when a watched
  // key changes), so an aggregate over processes never goes backwards. "all" gauges stay per
  // process, as prometheus_client keeps them, until their TTL expires.
  CleanupResult cleanup_dead_worker(std::string_view process);
  CleanupResult cleanup_dead_worker(long pid);
  // The same for several processes in one transaction (the same three round trips): the
  // master retires every worker reaped since the last cleanup at once.
  CleanupResult cleanup_dead_workers(std::vector<std::string> processes);

  // The archive is written by its instance's master, and by two of them while a USR2 upgrade
  // runs. Cleanup folds into what Redis says and what the copy this dictionary keeps of what
  // it folded says, reconciled (reconcile_archived in cleanup.cpp): Redis may have lost
  // values (a restart, a failover to a lagging replica), the copy may miss what the other
  // master folded since. load_archive reads the archive an earlier run left (at start);
  // restore_archive writes the copy back, reconciled the same way, in one transaction, for a
  // Redis that lost it. Returns the number of series.
  std::size_t load_archive();
  std::size_t restore_archive();

  // Closes the connections with these CLIENT IDs, dropping what Redis has not run of them yet:
  // a dead worker's last writes cannot land after its final values. False when Redis refuses
  // CLIENT KILL; a connection already gone counts as closed.
  bool disconnect_clients(const std::vector<long long>& ids);

  // Refreshes the TTLs of every key of these processes (touch script).
  void touch(const std::vector<std::string>& processes);

 private:
  std::optional<CleanupResult> try_cleanup(const std::vector<std::string>& processes);
  bool try_restore_archive();
  std::optional<std::vector<metrics::ProcessValues>> try_snapshot(bool atomic,
                                                                  const ProcessFilter& keep);
  std::vector<Reply> read_sets(const std::vector<std::string>& processes, bool watch,
                               const char* command);
  std::optional<std::vector<metrics::ProcessValues>> read_planned_atomically();
  std::vector<metrics::ProcessValues> values_of(const std::vector<Reply>& replies);
  void write_batch(const std::vector<metrics::ProcessValues>& batch);
  std::string metric_key(const Series& series) const;
  std::string meta_key(const Series& series) const;

  RedisStorageClient& client_;
  RedisKeys layout_;
  int ttl_seconds_;
  std::string instance_;
  std::map<std::string, ArchivedSeries> archive_copy_;  // by member, "{kind}:{md5}"
  OriginalKeys original_keys_;
  SnapshotPlan plan_;                           // points into original_keys_
  std::unordered_set<std::string> registered_;  // metric keys whose meta and index are written
  std::uint64_t registered_on_ = 0;             // client_.connections() when they were
  double registered_at_ = 0;
  double clock_offset_ = 0;
  double clock_measured_at_ = -1e300;
};

}  // namespace prefork::storage
