// Fleet scope in a Redis Cluster. Each instance's keys, index and archive live in the slot of
// its own hash tag, so no one node holds the fleet: the instances are found by their index
// keys ({prefix}:processes:{instance}), SCANned on every master at most every
// rescan_seconds, and each instance is read on the owner of its slot, as one consistent
// snapshot of its own. A new instance shows within rescan_seconds; one whose keys all expired
// leaves when two scans in a row missed its index key (one may miss a key in a moving slot).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "metrics/sample.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class ClusterFleet {
 public:
  static constexpr double rescan_seconds = 10;

  // endpoint: the reader's, with cluster_nodes; its TLS and credentials serve every node.
  ClusterFleet(const RedisEndpoint& endpoint, std::string prefix, int ttl_seconds);

  // Every process of every instance. Throws the client's errors.
  std::vector<metrics::ProcessValues> snapshot();

  // In a new worker: its sockets belong to the master.
  void close_in_child();

 private:
  struct Instance {
    Instance(const RedisEndpoint& endpoint, const std::string& prefix, int ttl, std::string tag)
        : client(endpoint), dict(client, prefix, ttl, std::move(tag)) {}
    RedisStorageClient client;
    RedisStorageDict dict;
    int missed = 0;  // scans in a row that did not find its index key
  };

  std::set<std::string> scan_instances();
  RedisStorageClient& node_client(const RedisHost& master);
  void track(const std::set<std::string>& tags);

  RedisEndpoint endpoint_;
  std::string prefix_;
  int ttl_seconds_;
  RedisStorageClient topology_;  // asks CLUSTER SLOTS
  // Kept, not made per scan: a worker forked during a scan closes them (close_in_child).
  std::map<std::string, std::unique_ptr<RedisStorageClient>> nodes_;  // by "host:port"
  std::map<std::string, std::unique_ptr<Instance>> instances_;        // by hash tag, "{web1}"
  std::optional<std::chrono::steady_clock::time_point> scanned_at_;
};

}  // namespace prefork::storage
