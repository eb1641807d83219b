#include "storage/redis/topology.hpp"

#include "storage/redis/cluster.hpp"
#include "storage/redis/sentinel.hpp"

namespace prefork::storage {

const std::vector<RedisHost>& locators(const RedisEndpoint& endpoint) {
  return endpoint.sentinels.empty() ? endpoint.cluster_nodes : endpoint.sentinels;
}

RedisEndpoint locator_endpoint(const RedisEndpoint& endpoint, const RedisHost& locator) {
  if (!endpoint.sentinels.empty()) return sentinel_endpoint(endpoint, locator);
  RedisEndpoint node = endpoint;
  node.host = locator.host;
  node.port = locator.port;
  node.cluster_nodes.clear();
  return node;
}

std::vector<Command> location_commands(const RedisEndpoint& endpoint) {
  std::vector<Command> commands;
  const RedisHost& any = locators(endpoint).front();
  if (Command auth = auth_command(locator_endpoint(endpoint, any)); !auth.empty())
    commands.push_back(std::move(auth));
  if (!endpoint.sentinels.empty()) {
    commands.push_back(master_address_query(endpoint));
  } else {
    commands.push_back({"CLUSTER", "SLOTS"});
  }
  return commands;
}

std::optional<RedisHost> located(const RedisEndpoint& endpoint, const RedisHost& locator,
                                 const redisReply* answer) {
  if (!endpoint.sentinels.empty()) return master_address(answer);
  return slot_owner(answer, endpoint.cluster_slot, locator);
}

std::string not_located(const RedisEndpoint& endpoint) {
  if (!endpoint.sentinels.empty())
    return "no sentinel gave the address of master " + endpoint.sentinel_master;
  return "no cluster node named the owner of slot " + std::to_string(endpoint.cluster_slot);
}

bool requires_master_role(const RedisEndpoint& endpoint) {
  return !endpoint.sentinels.empty();
}

bool serves_no_longer(const RedisEndpoint& endpoint, const redisReply* reply) {
  if (!endpoint.sentinels.empty()) return is_readonly_error(reply);
  if (!endpoint.cluster_nodes.empty()) return is_cluster_redirect(reply);
  return false;
}

}  // namespace prefork::storage
