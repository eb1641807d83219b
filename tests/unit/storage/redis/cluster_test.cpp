// Redis Cluster: slots as Redis computes them, the key layout that keeps an instance in one
// slot, and both connections against a real cluster (3 masters, 3 replicas): the owner of the
// slot asked of the first node that answers, MOVED followed after a failover.
#include <doctest/doctest.h>

#include <algorithm>

#include "fixture.hpp"
#include "storage/redis/cluster.hpp"
#include "storage/redis/cluster_fleet.hpp"
#include "storage/redis/errors.hpp"
#include "support/redis_cluster.hpp"

using namespace prefork::storage;
using prefork::Status;
using prefork::testing::RedisCluster;
using prefork::testing::RedisServer;
using prefork::testing::unused_port;
using namespace redis_test;

namespace {

RedisEndpoint in_cluster(const RedisCluster& cluster, std::string_view instance,
                         std::vector<RedisHost> first = {}) {
  prefork::config::Redis redis;
  redis.cluster_nodes = cluster.addresses();
  redis.connect_timeout = 2;
  redis.command_timeout = 2;
  RedisEndpoint endpoint = resolve_endpoint(redis, key_instance(redis, instance)).value();
  endpoint.cluster_nodes.insert(endpoint.cluster_nodes.begin(), first.begin(), first.end());
  return endpoint;
}

// The replica of the node on port, as CLUSTER REPLICAS of a live node says.
RedisServer& replica_of(RedisCluster& cluster, int port) {
  for (const auto& node : cluster.nodes()) {
    if (!node->running() || node->port() == port) continue;
    std::string role = node->info_field("replication", "master_port");
    if (role == std::to_string(port)) return *node;
  }
  throw std::runtime_error("no replica of port " + std::to_string(port));
}

}  // namespace

TEST_CASE("slots are Redis' CRC16 of the key or of its hash tag") {
  CHECK(key_slot("123456789") == 12739);  // the CRC16/XMODEM check value 0x31C3
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(key_slot("{}web1") != key_slot("web1"));  // an empty tag is no tag
  RedisServer::Options options;
  options.cluster = true;
  RedisServer node(options);
  for (const char* key : {"", "a", "gunicorn:processes:{web1}", "foo{}{bar}", "foo{{bar}}zap",
                          "{a}{b}", "x{}", "\xff\xfe"}) {
    CAPTURE(key);
    RedisServer::Reply reply = node.command({"CLUSTER", "KEYSLOT", key});
    REQUIRE(reply);
    CHECK(key_slot(key) == reply->integer);
  }
}

TEST_CASE("in a cluster every key of an instance is in the slot of its tag") {
  prefork::config::Redis redis;
  CHECK(key_instance(redis, "web1") == "web1");
  redis.cluster_nodes = {"127.0.0.1:7000"};
  CHECK(key_instance(redis, "web1") == "{web1}");
  CHECK(key_instance(redis, "") == "{gunicorn}");
  // Labelled by name, as outside a cluster.
  CHECK(instance_name(key_instance(redis, "web1")) == "web1");
  CHECK(instance_name("web1") == "web1");
  CHECK(instance_name("{}") == "{}");
  RedisKeys keys("gunicorn", key_instance(redis, "web1"));
  CHECK(keys.processes() == "gunicorn:processes:{web1}");
  int slot = key_slot(keys.processes());
  CHECK(slot == key_slot("web1"));
  std::string worker = process_name("{web1}", 1234);
  CHECK(worker == "{web1}-1234");
  CHECK(pid_of_process("{web1}", worker) == 1234);
  for (const std::string& key :
       {keys.metric("counter", worker, "abc"), keys.meta("gauge_livesum", worker, "abc"),
        keys.process(worker), keys.process(archive_process("{web1}")),
        keys.metric("counter", archive_process("{web1}"), "abc")}) {
    CAPTURE(key);
    CHECK(key_slot(key) == slot);
  }
  CHECK(RedisKeys("gunicorn", "web1").processes() == "gunicorn:processes");
}

TEST_CASE("MOVED names the new owner; redirects are told from other errors") {
  redisReply moved{};
  moved.type = REDIS_REPLY_ERROR;
  std::string text = "MOVED 3999 127.0.0.1:6381";
  moved.str = text.data();
  moved.len = text.size();
  std::optional<RedisHost> to = moved_to(&moved);
  REQUIRE(to);
  CHECK(to->host == "127.0.0.1");
  CHECK(to->port == 6381);
  CHECK(is_cluster_redirect(&moved));
  for (std::string other : {"ASK 3999 127.0.0.1:6381", "TRYAGAIN Multiple keys", "CLUSTERDOWN x"}) {
    moved.str = other.data();
    moved.len = other.size();
    CHECK(is_cluster_redirect(&moved));
    CHECK_FALSE(moved_to(&moved));
  }
  std::string plain = "ERR wrong number of arguments";
  moved.str = plain.data();
  moved.len = plain.size();
  CHECK_FALSE(is_cluster_redirect(&moved));
}

TEST_CASE("both connections write to the owner of the instance's slot and follow a failover") {
  RedisCluster cluster;
  RedisEndpoint endpoint = in_cluster(cluster, "web1", {{"127.0.0.1", unused_port()}});
  int owner = cluster.owner_port(endpoint.cluster_slot);
  REQUIRE(owner != 0);
  std::string key = RedisKeys("gunicorn", "{web1}").processes();

  RedisStorageClient client(endpoint);
  client.command({"SADD", key, "before"});
  CHECK(client.endpoint().port == owner);
  CHECK(describe(client.endpoint()).starts_with("the owner of slot "));
  CHECK(integer_of(*inspector(cluster.node_on(owner)), {"SCARD", key}) == 1);

  prefork::testing::TestLoop loop;
  AsyncConnection connection(&loop.loop, endpoint, {});
  REQUIRE(run_until(
      &loop.loop, [&] { return connection.is_ready(); }, 5));
  CHECK(connection.endpoint().port == owner);

  // A manual failover: the old master becomes its replica's replica and answers MOVED.
  RedisServer& replica = replica_of(cluster, owner);
  REQUIRE(replica.command({"CLUSTER", "FAILOVER"}));
  REQUIRE(prefork::testing::eventually(
      [&] { return cluster.owner_port(endpoint.cluster_slot) == replica.port(); },
      std::chrono::seconds(30)));

  REQUIRE(prefork::testing::eventually(
      [&] {
        try {
          client.command({"SADD", key, "after"});
          return client.endpoint().port == replica.port();
        } catch (const RedisError&) {
          return false;
        }
      },
      std::chrono::seconds(30)));
  CHECK(integer_of(*inspector(replica), {"SISMEMBER", key, "after"}) == 1);

  bool done = false;
  Status outcome;
  REQUIRE(connection.send({{"SADD", key, "async"}}, [&](const Status& status) {
    outcome = status;
    done = true;
  }));
  REQUIRE(run_until(
      &loop.loop, [&] { return done; }, 5));
  CHECK_MESSAGE(!outcome.ok(), "the old master answers MOVED");
  REQUIRE(run_until(
      &loop.loop,
      [&] { return connection.is_ready() && connection.endpoint().port == replica.port(); }, 10));
  done = false;
  REQUIRE(connection.send({{"SADD", key, "async"}}, [&](const Status& status) {
    outcome = status;
    done = true;
  }));
  REQUIRE(run_until(
      &loop.loop, [&] { return done; }, 5));
  CHECK(outcome.ok());
  CHECK(integer_of(*inspector(replica), {"SISMEMBER", key, "async"}) == 1);
}

TEST_CASE("a fleet in a cluster: every instance found on its own master and read there") {
  RedisCluster cluster;
  std::vector<std::string> names = {"web1"};
  for (int n = 2; names.size() < 3 && n < 100; ++n) {
    std::string name = "web" + std::to_string(n);
    int port = cluster.owner_port(key_slot(name));
    bool new_master = std::none_of(names.begin(), names.end(), [&](const std::string& other) {
      return cluster.owner_port(key_slot(other)) == port;
    });
    if (new_master) names.push_back(name);
  }
  REQUIRE(names.size() == 3);  // one instance on each master
  for (std::size_t i = 0; i < names.size(); ++i) {
    RedisStorageClient client(in_cluster(cluster, names[i]));
    RedisStorageDict dict(client, "gunicorn", 300, "{" + names[i] + "}");
    dict.write_values({{counter(),
                        process_name("{" + names[i] + "}", 100 + long(i)),
                        {{key_of("requests", "requests_total"), double(i + 1), 0}}}});
  }
  ClusterFleet fleet(in_cluster(cluster, ""), "gunicorn", 300);
  std::vector<prefork::metrics::ProcessValues> values = fleet.snapshot();
  REQUIRE(values.size() == 3);
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto process = std::find_if(values.begin(), values.end(), [&](const auto& group) {
      return group.process == process_name("{" + names[i] + "}", 100 + long(i));
    });
    REQUIRE(process != values.end());
    CHECK(process->values.at(0).value == double(i + 1));
  }
}
