// Redis Cluster for tests: three masters and one replica each on free loopback ports, made
// by `redis-cli --cluster create … --cluster-replicas 1`, ready when every node says
// cluster_state:ok, knows all six, and has its replication link up. A master's SIGKILL is
// over when a node that was its replica owns its slots in every live node's CLUSTER SLOTS and
// the cluster is ok again. move_slot() reshards one slot with its keys, as
// `redis-cli --cluster reshard` does.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/eventually.hpp"
#include "support/redis_server.hpp"

namespace prefork::testing {

class RedisCluster {
 public:
  static constexpr int masters = 3;

  RedisCluster() {
    RedisServer::Options options;
    options.cluster = true;
    // A master waits 5 s by default before it streams a full sync to its replicas.
    options.arguments = {"--repl-diskless-sync-delay", "0"};
    for (int i = 0; i < masters * 2; ++i) nodes_.push_back(std::make_unique<RedisServer>(options));
    create();
    require(eventually([&] { return all_nodes_ok(); }, std::chrono::seconds(30)),
            "the cluster did not become ok");
  }

  const std::vector<std::unique_ptr<RedisServer>>& nodes() const { return nodes_; }

  // "127.0.0.1:P" of each node, as redis.cluster_nodes takes them.
  std::vector<std::string> addresses() const {
    std::vector<std::string> addresses;
    for (const auto& node : nodes_)
      addresses.push_back(node->host() + ":" + std::to_string(node->port()));
    return addresses;
  }

  // The port of slot's master as a live node sees it; 0 when none says.
  int owner_port(int slot) const {
    for (const auto& node : nodes_) {
      if (!node->running()) continue;
      if (int port = owner_in(*node, slot)) return port;
    }
    return 0;
  }

  RedisServer& node_on(int port) {
    for (const auto& node : nodes_)
      if (node->port() == port) return *node;
    throw std::runtime_error("no node on port " + std::to_string(port));
  }

  // The ports of the live masters.
  std::vector<int> master_ports() const {
    std::vector<int> ports;
    for (const auto& node : nodes_) {
      if (node->running() && node->info_field("replication", "role") == "master")
        ports.push_back(node->port());
    }
    return ports;
  }

  // Moves slot with its keys to the master on to_port: IMPORTING on the target, MIGRATING on
  // the source, the keys MIGRATEd in batches of 50 with hold between them, then the new owner
  // told to the target, the source and the other masters, in that order. Meanwhile a client
  // gets ASK for keys already moved (and TRYAGAIN for transactions over both), then MOVED.
  void move_slot(int slot, int to_port, std::chrono::milliseconds hold) {
    RedisServer& source = node_on(owner_port(slot));
    RedisServer& target = node_on(to_port);
    std::string number = std::to_string(slot);
    require_ok(target.command({"CLUSTER", "SETSLOT", number, "IMPORTING", node_id(source)}));
    require_ok(source.command({"CLUSTER", "SETSLOT", number, "MIGRATING", node_id(target)}));
    for (;;) {
      RedisServer::Reply keys = source.command({"CLUSTER", "GETKEYSINSLOT", number, "50"});
      require(keys && keys->type == REDIS_REPLY_ARRAY, "CLUSTER GETKEYSINSLOT failed");
      if (keys->elements == 0) break;
      std::vector<std::string> migrate = {
          "MIGRATE", target.host(), std::to_string(to_port), "", "0", "5000", "REPLACE", "KEYS"};
      for (std::size_t i = 0; i < keys->elements; ++i)
        migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
      require_ok(source.command(migrate));
      // The slot held half-moved on purpose: the scenario under test, not a wait for anything.
      std::this_thread::sleep_for(hold);
    }
    std::vector<int> told = {to_port, source.port()};
    for (int port : master_ports()) {
      if (port != to_port && port != source.port()) told.push_back(port);
    }
    std::string owner = node_id(target);
    for (int port : told)
      require_ok(node_on(port).command({"CLUSTER", "SETSLOT", number, "NODE", owner}));
    require(eventually([&] { return owner_port(slot) == to_port; }, std::chrono::seconds(10)),
            "the cluster did not agree on slot " + number + "'s new owner");
  }

  // How many replies of an error kind ("ASK", "MOVED", "TRYAGAIN") the live masters gave.
  long long errors_replied(const std::string& kind) const {
    long long total = 0;
    for (const auto& node : nodes_) {
      if (!node->running()) continue;
      std::string stat = node->info_field("errorstats", "errorstat_" + kind);
      if (stat.starts_with("count=")) total += std::stoll(stat.substr(6));
    }
    return total;
  }

  // SIGKILL of slot's master; wait_for_failover(slot) waits for its replica to take over.
  void kill_owner(int slot) {
    killed_port_ = owner_port(slot);
    node_on(killed_port_).kill();
  }

  void wait_for_failover(int slot) {
    require(eventually(
                [&] {
                  for (const auto& node : nodes_) {
                    if (!node->running()) continue;
                    int owner = owner_in(*node, slot);
                    if (owner == 0 || owner == killed_port_) return false;
                    if (cluster_info(*node, "cluster_state") != "ok") return false;
                  }
                  return true;
                },
                std::chrono::seconds(30)),
            "no replica took over the killed master's slots; CLUSTER NODES:\n" + cluster_nodes());
  }

 private:
  static void require(bool condition, const std::string& what) {
    if (!condition) throw std::runtime_error(what);
  }

  static void require_ok(const RedisServer::Reply& reply) {
    require(reply && reply->type != REDIS_REPLY_ERROR,
            reply ? std::string("Redis refused: ") + reply->str : "no answer from a node");
  }

  static std::string node_id(const RedisServer& node) {
    RedisServer::Reply reply = node.command({"CLUSTER", "MYID"});
    require(reply && reply->type == REDIS_REPLY_STRING, "CLUSTER MYID failed");
    return std::string(reply->str, reply->len);
  }

  // redis-cli assigns slots, meets the nodes and makes the last three replicas; waited for by
  // pid.
  void create() {
    std::vector<std::string> arguments = {"redis-cli", "--cluster", "create"};
    for (const std::string& address : addresses()) arguments.push_back(address);
    arguments.insert(arguments.end(), {"--cluster-replicas", "1", "--cluster-yes"});
    pid_t child = spawn_quietly(std::move(arguments));
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    require(WIFEXITED(status) && WEXITSTATUS(status) == 0, "redis-cli --cluster create failed");
  }

  // A replica that never synced is too stale to be promoted, so its link counts too.
  bool all_nodes_ok() const {
    for (const auto& node : nodes_) {
      if (cluster_info(*node, "cluster_state") != "ok" ||
          cluster_info(*node, "cluster_known_nodes") != std::to_string(nodes_.size())) {
        return false;
      }
      if (node->info_field("replication", "role") == "slave" &&
          node->info_field("replication", "master_link_status") != "up") {
        return false;
      }
    }
    return true;
  }

  // What the first live node knows of the others.
  std::string cluster_nodes() const {
    for (const auto& node : nodes_) {
      if (!node->running()) continue;
      RedisServer::Reply reply = node->command({"CLUSTER", "NODES"});
      if (reply && reply->type == REDIS_REPLY_STRING) return std::string(reply->str, reply->len);
    }
    return "";
  }

  // A "field:value" line of CLUSTER INFO; "" when the node does not answer.
  static std::string cluster_info(const RedisServer& node, const std::string& field) {
    RedisServer::Reply reply = node.command({"CLUSTER", "INFO"});
    if (!reply || reply->type != REDIS_REPLY_STRING) return "";
    std::string text = "\n" + std::string(reply->str, reply->len);
    std::size_t at = text.find("\n" + field + ":");
    if (at == std::string::npos) return "";
    at += field.size() + 2;
    return text.substr(at, text.find_first_of("\r\n", at) - at);
  }

  static int owner_in(const RedisServer& node, int slot) {
    RedisServer::Reply reply = node.command({"CLUSTER", "SLOTS"});
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return 0;
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* range = reply->element[i];
      if (range->elements < 3 || range->element[0]->integer > slot ||
          range->element[1]->integer < slot) {
        continue;
      }
      return int(range->element[2]->element[1]->integer);
    }
    return 0;
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  int killed_port_ = 0;
};

}  // namespace prefork::testing
