// Both connections with Redis Sentinel, against real sentinels: the master's address asked of
// the first sentinel that answers, ROLE required to be master, a master demoted under the
// connection (READONLY) and a failover followed.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "storage/redis/errors.hpp"
#include "support/sentinel_group.hpp"

using namespace prefork::storage;
using prefork::Status;
using prefork::testing::RedisServer;
using prefork::testing::SentinelGroup;
using prefork::testing::unused_port;
using namespace redis_test;

namespace {

RedisHost host_of(const RedisServer& server) {
  return {server.host(), server.port()};
}

RedisEndpoint through(std::vector<RedisHost> sentinels, const std::string& name) {
  RedisEndpoint endpoint;
  endpoint.host = "nowhere.invalid";  // never used: the sentinels say where
  endpoint.sentinels = std::move(sentinels);
  endpoint.sentinel_master = name;
  endpoint.connect_timeout = 2;
  endpoint.command_timeout = 2;
  return endpoint;
}

// One sentinel alone (quorum 1) that monitors server under name, whatever its role.
struct LoneSentinel {
  explicit LoneSentinel(const RedisServer& server, const std::string& name = "lone")
      : sentinel([&] {
          RedisServer::Options options;
          options.sentinel_config = prefork::testing::sentinel_config(name, server.port(), 1);
          return options;
        }()) {}
  RedisServer sentinel;
};

}  // namespace

TEST_CASE("the master's address comes from the first sentinel that answers") {
  RedisServer master;
  LoneSentinel lone(master);
  RedisStorageClient client(
      through({{"127.0.0.1", unused_port()}, host_of(lone.sentinel)}, "lone"));
  client.command({"SET", "written", "yes"});
  CHECK(client.endpoint().port == master.port());
  CHECK(text_of(*inspector(master), {"GET", "written"}) == "yes");
}

TEST_CASE("no sentinel knowing the master is a connection error that says so") {
  RedisServer master;
  LoneSentinel lone(master);
  RedisStorageClient client(through({host_of(lone.sentinel)}, "unknown"));
  CHECK_THROWS_WITH_AS(client.connect(),
                       doctest::Contains("no sentinel gave the address of master unknown"),
                       RedisConnectionError);
}

TEST_CASE(
    "a server that is not the master is refused, and a master demoted under the "
    "connection is left") {
  RedisServer master;
  RedisServer::Options options;
  options.arguments = {"--replicaof", "127.0.0.1", std::to_string(master.port())};
  RedisServer replica(options);
  RedisServer other;  // what the master is demoted under

  SUBCASE("a sentinel naming a replica") {
    LoneSentinel lone(replica);
    RedisStorageClient client(through({host_of(lone.sentinel)}, "lone"));
    CHECK_THROWS_WITH_AS(client.connect(), doctest::Contains("is not the master (ROLE: slave)"),
                         RedisConnectionError);
  }
  SUBCASE("READONLY: the connection asks again, and the sentinel's answer is refused") {
    LoneSentinel lone(master);
    RedisStorageClient client(through({host_of(lone.sentinel)}, "lone"));
    client.command({"SET", "before", "1"});
    REQUIRE(inspector(master)->command({"REPLICAOF", "127.0.0.1", std::to_string(other.port())}));
    CHECK_THROWS_WITH_AS(client.command({"SET", "after", "1"}),
                         doctest::Contains("is not the master"), RedisConnectionError);
  }
  SUBCASE("the flushing connection drops a demoted master") {
    LoneSentinel lone(master);
    prefork::testing::TestLoop loop;
    AsyncConnection::Events events;
    AsyncConnection connection(&loop.loop, through({host_of(lone.sentinel)}, "lone"), events);
    REQUIRE(run_until(
        &loop.loop, [&] { return connection.is_ready(); }, 5));
    REQUIRE(inspector(master)->command({"REPLICAOF", "127.0.0.1", std::to_string(other.port())}));
    Status outcome;
    bool done = false;
    connection.send({{"SET", "after", "1"}}, [&](const Status& status) {
      outcome = status;
      done = true;
    });
    REQUIRE(run_until(
        &loop.loop, [&] { return done && !connection.is_ready(); }, 5));
    CHECK(!outcome.ok());
    // It asked the sentinel again, which still names the demoted server: refused by ROLE.
    REQUIRE(run_until(
        &loop.loop,
        [&] { return connection.last_error().find("not the master") != std::string::npos; }, 5));
  }
}

TEST_CASE("a failover is followed: both connections reach the new master") {
  SentinelGroup group;
  std::vector<RedisHost> sentinels;
  for (const auto& sentinel : group.sentinels()) sentinels.push_back(host_of(*sentinel));
  RedisStorageClient client(through(sentinels, SentinelGroup::name));
  client.command({"SET", "before", "1"});
  int old_master = group.master().port();
  CHECK(client.endpoint().port == old_master);

  group.failover();
  // Commands reach the old master until the sentinels demote it (some seconds after the
  // promotion); from then on, the new one.
  REQUIRE(prefork::testing::eventually(
      [&] {
        try {
          client.command({"SET", "after", "1"});
          return client.endpoint().port == group.master().port();
        } catch (const RedisError&) {
          return false;
        }
      },
      std::chrono::seconds(30)));
  CHECK(text_of(*inspector(group.master()), {"GET", "after"}) == "1");

  prefork::testing::TestLoop loop;
  AsyncConnection connection(&loop.loop, through(sentinels, SentinelGroup::name), {});
  REQUIRE(run_until(
      &loop.loop, [&] { return connection.is_ready(); }, 5));
  CHECK(connection.endpoint().port == group.master().port());
}
