// Redis Sentinel for tests: one master, one replica and three sentinels (redis-server
// --sentinel) on free loopback ports, ready when the replica is in sync and every sentinel
// knows the replica and the two other sentinels; a failover by SENTINEL FAILOVER or by SIGKILL
// of the master, done when every sentinel names the new master and it says ROLE master.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/eventually.hpp"
#include "support/redis_server.hpp"

namespace prefork::testing {

// What a sentinel monitors under name, from a quorum of the given number of sentinels.
inline std::string sentinel_config(const std::string& name, int port, int quorum) {
  std::string monitored = name + " ";
  return "sentinel monitor " + monitored + "127.0.0.1 " + std::to_string(port) + " " +
         std::to_string(quorum) + "\nsentinel down-after-milliseconds " + monitored +
         "1000\nsentinel failover-timeout " + monitored + "10000\n";
}

// The port a sentinel gives for name; 0 when it gives none.
inline int master_port_of(const RedisServer& sentinel, const std::string& name) {
  RedisServer::Reply reply = sentinel.command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", name});
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return 0;
  return std::atoi(reply->element[1]->str);
}

// ROLE's first element: "master", "slave", or "" when the server does not answer.
inline std::string role_of(const RedisServer& server) {
  RedisServer::Reply reply = server.command({"ROLE"});
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return "";
  return std::string(reply->element[0]->str, reply->element[0]->len);
}

class SentinelGroup {
 public:
  static constexpr const char* name = "mymaster";

  SentinelGroup() {
    servers_.push_back(std::make_unique<RedisServer>());
    RedisServer::Options replica;
    replica.arguments = {"--replicaof", "127.0.0.1", std::to_string(servers_[0]->port())};
    servers_.push_back(std::make_unique<RedisServer>(replica));
    require(eventually([&] {
              return servers_[1]->info_field("replication", "master_link_status") == "up";
            }),
            "the replica did not sync with the master");
    for (int i = 0; i < 3; ++i) {
      RedisServer::Options options;
      options.sentinel_config = sentinel_config(name, servers_[0]->port(), 2);
      sentinels_.push_back(std::make_unique<RedisServer>(options));
    }
    require(eventually([&] { return all_sentinels_see(1, 2); }, std::chrono::seconds(30)),
            "the sentinels did not find the replica and each other");
  }

  RedisServer& master() { return *servers_[master_]; }
  RedisServer& replica() { return *servers_[1 - master_]; }
  const std::vector<std::unique_ptr<RedisServer>>& sentinels() const { return sentinels_; }

  // "127.0.0.1:P" of each sentinel, as redis.sentinels takes them.
  std::vector<std::string> sentinel_addresses() const {
    std::vector<std::string> addresses;
    for (const auto& sentinel : sentinels_)
      addresses.push_back(sentinel->host() + ":" + std::to_string(sentinel->port()));
    return addresses;
  }

  // SENTINEL FAILOVER (asked again while the sentinel has no good replica yet), then waits
  // until the replica is the master everywhere.
  void failover() {
    require(eventually([&] {
              RedisServer::Reply reply = sentinels_[0]->command({"SENTINEL", "FAILOVER", name});
              return reply && reply->type == REDIS_REPLY_STATUS;
            }),
            "SENTINEL FAILOVER was refused");
    wait_for_promotion();
  }

  // SIGKILL of the master; wait_for_promotion() waits for the sentinels to see it down and
  // promote the replica.
  void kill_master() { master().kill(); }

  void wait_for_promotion() {
    RedisServer& promoted = replica();
    require(eventually(
                [&] {
                  for (const auto& sentinel : sentinels_)
                    if (master_port_of(*sentinel, name) != promoted.port()) return false;
                  return role_of(promoted) == "master";
                },
                std::chrono::seconds(30)),
            "the replica was not promoted");
    master_ = 1 - master_;
  }

 private:
  static void require(bool condition, const std::string& what) {
    if (!condition) throw std::runtime_error(what);
  }

  static std::map<std::string, std::string> fields(const RedisServer::Reply& reply) {
    std::map<std::string, std::string> map;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return map;
    for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
      map[std::string(reply->element[i]->str, reply->element[i]->len)] =
          std::string(reply->element[i + 1]->str, reply->element[i + 1]->len);
    }
    return map;
  }

  bool all_sentinels_see(int replicas, int other_sentinels) const {
    for (const auto& sentinel : sentinels_) {
      auto seen = fields(sentinel->command({"SENTINEL", "MASTER", name}));
      if (std::atoi(seen["num-slaves"].c_str()) < replicas ||
          std::atoi(seen["num-other-sentinels"].c_str()) < other_sentinels) {
        return false;
      }
    }
    return true;
  }

  std::vector<std::unique_ptr<RedisServer>> servers_;  // [master_] is the master
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
  int master_ = 0;
};

}  // namespace prefork::testing
