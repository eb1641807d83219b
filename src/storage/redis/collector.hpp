// RedisMultiProcessCollector: every process's values from one consistent snapshot (MULTI/EXEC
// over the watched index), merged with prometheus_client's multiprocess rules by
// metrics::aggregate. Its scope says whose processes: this instance's, or every instance's
// on the Redis, each merged apart and labelled instance (metrics.scope); in a cluster the
// fleet is read instance by instance, each on its own node (ClusterFleet).
#pragma once

#include <string>
#include <vector>

#include "metrics/aggregate.hpp"
#include "metrics/key_cache.hpp"
#include "storage/redis/cluster_fleet.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

enum class Scope { instance, fleet };

class RedisMultiProcessCollector {
 public:
  // fleet (a cluster's, with Scope::fleet) reads the processes in place of dict.
  explicit RedisMultiProcessCollector(RedisStorageDict& dict, Scope scope = Scope::instance,
                                      ClusterFleet* fleet = nullptr)
      : dict_(dict), scope_(scope), fleet_(fleet) {}

  // merge_from_redis(true). Throws the client's errors when Redis cannot be read.
  std::vector<metrics::Family> collect() { return merge_from_redis(true); }

  // accumulate = false leaves histogram buckets as stored and adds no _count, as
  // prometheus_client's merge(accumulate=False). Keys that are not JSON keys are skipped
  // and described in errors (if given).
  std::vector<metrics::Family> merge_from_redis(bool accumulate = true,
                                                std::vector<std::string>* errors = nullptr);

  // The raw per-process values of every instance, unmerged.
  std::vector<metrics::ProcessValues> read_processes() { return dict_.snapshot(); }

  // collect() as exposition text 0.0.4.
  std::string render();

 private:
  std::vector<metrics::ProcessValues> read_sorted();

  RedisStorageDict& dict_;
  Scope scope_;
  ClusterFleet* fleet_;
  metrics::KeyCache keys_;  // parsed once, kept across scrapes
};

// "instance" or "fleet" (metrics.scope).
Scope scope_named(const std::string& name);

}  // namespace prefork::storage
