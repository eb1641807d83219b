// Fleet scope in a Redis Cluster. Each instance's keys, index and archive live in the slot of
// its own hash tag, so no one node holds the fleet: the instances are found by their index
// keys ({prefix}:processes:{instance}), SCANned on every master at most every
// rescan_seconds, and each instance is read on the owner of its slot, as one consistent
// snapshot of its own. A new instance shows within rescan_seconds; one whose keys all expired
// leaves with its index key.
#pragma once

#include <map>
#include <memory>
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
  };

  std::set<std::string> scan_instances();
  void track(const std::set<std::string>& tags);

  RedisEndpoint endpoint_;
  std::string prefix_;
  int ttl_seconds_;
  RedisStorageClient topology_;                                 // asks CLUSTER SLOTS
  std::map<std::string, std::unique_ptr<Instance>> instances_;  // by hash tag, "{web1}"
  double scanned_at_ = -1e300;
};

}  // namespace prefork::storage
