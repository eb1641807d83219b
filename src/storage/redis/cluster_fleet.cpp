#include "storage/redis/cluster_fleet.hpp"

#include "storage/redis/cluster.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {
namespace {

RedisEndpoint with_slot_of(RedisEndpoint endpoint, const std::string& tag) {
  endpoint.cluster_slot = key_slot(tag);
  return endpoint;
}

// One node as it is, not the owner of a slot.
RedisEndpoint node_endpoint(RedisEndpoint endpoint, const RedisHost& node) {
  endpoint.cluster_nodes.clear();
  endpoint.host = node.host;
  endpoint.port = node.port;
  return endpoint;
}

}  // namespace

ClusterFleet::ClusterFleet(const RedisEndpoint& endpoint, std::string prefix, int ttl_seconds)
    : endpoint_(endpoint),
      prefix_(std::move(prefix)),
      ttl_seconds_(ttl_seconds),
      topology_(endpoint) {}

std::vector<metrics::ProcessValues> ClusterFleet::snapshot() {
  auto now = std::chrono::steady_clock::now();
  if (!scanned_at_ || now - *scanned_at_ >= std::chrono::duration<double>(rescan_seconds)) {
    track(scan_instances());
    scanned_at_ = now;
  }
  std::vector<metrics::ProcessValues> values;
  for (auto& [tag, instance] : instances_) {
    std::vector<metrics::ProcessValues> more = instance->dict.snapshot();
    values.insert(values.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
  return values;
}

void ClusterFleet::close_in_child() {
  topology_.close_in_child();
  for (auto& [address, node] : nodes_) node->close_in_child();
  for (auto& [tag, instance] : instances_) instance->client.close_in_child();
}

RedisStorageClient& ClusterFleet::node_client(const RedisHost& master) {
  std::unique_ptr<RedisStorageClient>& client =
      nodes_[master.host + ":" + std::to_string(master.port)];
  if (!client) client = std::make_unique<RedisStorageClient>(node_endpoint(endpoint_, master));
  return *client;
}

// SCAN walks a node's whole key space, which is why it runs every rescan_seconds only.
std::set<std::string> ClusterFleet::scan_instances() {
  Reply slots = topology_.command({"CLUSTER", "SLOTS"});
  RedisHost asked{topology_.endpoint().host, topology_.endpoint().port};
  std::string index_prefix = prefix_ + ":processes:";
  std::set<std::string> tags;
  for (const RedisHost& master : slot_masters(slots.get(), asked)) {
    RedisStorageClient& node = node_client(master);
    std::string cursor = "0";
    do {
      Reply page = node.command({"SCAN", cursor, "MATCH", index_prefix + "{*}", "COUNT", "1000"});
      if (page->type != REDIS_REPLY_ARRAY || page->elements != 2) break;
      cursor = std::string(reply_text(page->element[0]));
      const redisReply* keys = page->element[1];
      for (std::size_t i = 0; i < keys->elements; ++i)
        tags.insert(std::string(reply_text(keys->element[i]).substr(index_prefix.size())));
    } while (cursor != "0");
  }
  return tags;
}

void ClusterFleet::track(const std::set<std::string>& tags) {
  std::erase_if(instances_, [&](const auto& entry) { return !tags.contains(entry.first); });
  for (const std::string& tag : tags) {
    if (instances_.contains(tag)) continue;
    instances_.emplace(
        tag, std::make_unique<Instance>(with_slot_of(endpoint_, tag), prefix_, ttl_seconds_, tag));
  }
}

}  // namespace prefork::storage
