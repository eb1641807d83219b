// prefork on Redis Cluster (three masters, a replica each): two instances whose slots live on
// different masters count exactly their own requests, and a fleet view reads both; SIGKILL of one
// instance's master under load costs no request and no count once its replica is promoted, and
// neither does its slot resharded from master to master under load (ASK, TRYAGAIN, then MOVED).
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

#include "metrics_support.hpp"
#include "support/eventually.hpp"
#include "support/redis_cluster.hpp"

using namespace prefork::e2e;
using namespace std::chrono_literals;
using prefork::testing::eventually;
using prefork::testing::RedisCluster;

namespace {

// The slot of the instance's hash tag "{name}", as the cluster computes it.
int slot_of(const RedisCluster& cluster, const std::string& name) {
  RedisServer::Reply reply = cluster.nodes().front()->command({"CLUSTER", "KEYSLOT", name});
  REQUIRE((reply && reply->type == REDIS_REPLY_INTEGER));
  return int(reply->integer);
}

// "webN" with the lowest N whose slot's master is not on avoid_port.
std::string instance_not_on(const RedisCluster& cluster, int avoid_port) {
  for (int n = 1; n < 100; ++n) {
    std::string name = "web" + std::to_string(n);
    if (cluster.owner_port(slot_of(cluster, name)) != avoid_port) return name;
  }
  FAIL("every instance name hashes to one master");
  return "";
}

std::string cluster_config(const RedisCluster& cluster, const std::string& instance) {
  std::string nodes;
  for (const std::string& address : cluster.addresses())
    nodes += (nodes.empty() ? "\"" : ", \"") + address + "\"";
  return "[redis]\nenabled = true\ncluster_nodes = [" + nodes +
         "]\nconnect_timeout = 1\ncommand_timeout = 1\n"
         "[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\nflush_interval_ms = 50\n"
         "instance = \"" +
         instance + "\"\n";
}

// One prefork instance under load, its requests_total watched from the first scrape on.
struct Instance {
  Instance(const RedisCluster& cluster, const TempDir& directory, std::string instance_name)
      : name(std::move(instance_name)),
        slot(slot_of(cluster, name)),
        prefork(directory.write(name + ".toml", cluster_config(cluster, name)), 2) {
    REQUIRE(eventually([&] { return load.answered() > 100; }));
    watch.emplace(prefork.metrics, "gunicorn_worker_requests_total");
    REQUIRE(eventually([&] { return watch->scrapes() > 5; }));
  }

  // Its own scrape sums to exactly what it answered.
  void check_exact() {
    INFO(name);
    check_counted_exactly(prefork.metrics, load, *watch);
    CHECK(load.failed() == 0);
  }

  std::string name;
  int slot;
  Prefork prefork;
  Load load{prefork.port, 1};
  std::optional<ScrapeWatch> watch;
};

struct Deployment {
  RedisCluster cluster;
  TempDir directory;
  Instance first{cluster, directory, instance_not_on(cluster, 0)};
  Instance second{cluster, directory, instance_not_on(cluster, cluster.owner_port(first.slot))};
};

}  // namespace

TEST_CASE(
    "two instances on different masters: each serves exactly its own requests, and a fleet "
    "view (prefork metrics, scope fleet) serves both apart") {
  Deployment deployment;
  MESSAGE(deployment.first.name, " on ", deployment.cluster.owner_port(deployment.first.slot), ", ",
          deployment.second.name, " on ", deployment.cluster.owner_port(deployment.second.slot));
  std::string fleet_config = deployment.directory.write(
      "fleet.toml", cluster_config(deployment.cluster, "viewer") + "scope = \"fleet\"\n");
  Server fleet(prefork_binary(), {"metrics", "-c", fleet_config});
  int fleet_metrics = metrics_port(fleet);
  REQUIRE(fleet_metrics > 0);
  REQUIRE(eventually([&, goal = deployment.first.load.answered() + 200] {
    return deployment.first.load.answered() > goal;
  }));
  deployment.first.check_exact();
  deployment.second.check_exact();
  std::string text;
  CHECK(eventually([&] {
    text = scrape(fleet_metrics);
    return sum_of(text, "gunicorn_worker_requests_total",
                  "instance=\"" + deployment.first.name + "\"") ==
               double(deployment.first.load.answered()) &&
           sum_of(text, "gunicorn_worker_requests_total",
                  "instance=\"" + deployment.second.name + "\"") ==
               double(deployment.second.load.answered());
  }));
  INFO(text);
  CHECK(sum_of(text, "gunicorn_master_workers", "instance=\"" + deployment.first.name + "\"") == 2);
}

TEST_CASE("an instance's master killed under load: nothing is lost on either instance") {
  Deployment deployment;
  int killed = deployment.cluster.owner_port(deployment.first.slot);
  deployment.cluster.kill_owner(deployment.first.slot);
  deployment.cluster.wait_for_failover(deployment.first.slot);
  MESSAGE("master ", killed, " of ", deployment.first.name, " failed over to ",
          deployment.cluster.owner_port(deployment.first.slot));
  REQUIRE(eventually([&, goal = deployment.first.load.answered() + 200] {
    return deployment.first.load.answered() > goal;
  }));
  deployment.first.check_exact();
  deployment.second.check_exact();
}

TEST_CASE("an instance's slot resharded from master to master under load: nothing is lost") {
  Deployment deployment;
  Instance& moving = deployment.first;
  // Round the masters twice, each move with the slot held half-moved for a while.
  for (int move = 0; move < 6; ++move) {
    int from = deployment.cluster.owner_port(moving.slot);
    std::vector<int> masters = deployment.cluster.master_ports();
    auto at = std::find(masters.begin(), masters.end(), from);
    REQUIRE(at != masters.end());
    int to = std::next(at) == masters.end() ? masters.front() : *std::next(at);
    deployment.cluster.move_slot(moving.slot, to, 100ms);
    MESSAGE("slot ", moving.slot, " of ", moving.name, " moved from ", from, " to ", to);
    REQUIRE(eventually(
        [&, goal = moving.load.answered() + 200] { return moving.load.answered() > goal; }));
  }
  moving.check_exact();
  deployment.second.check_exact();
  // The writers did meet the slot moving. Whether a writer meets ASK (keys moved, slot not yet)
  // or MOVED (slot moved) depends on when it last asked for the slot map, so only their sum is
  // certain; the unit tests make the old owner answer MOVED on purpose.
  CHECK(deployment.cluster.errors_replied("ASK") + deployment.cluster.errors_replied("MOVED") > 0);
}
