// RedisStorageManager and the global helpers: when setup() says yes or no (and why), the
// injectable client factory, and cleanup_keys for this instance's dead processes only.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.hpp"
#include "storage/redis/manager.hpp"

using namespace prefork::storage;
using prefork::testing::RedisServer;
using namespace redis_test;

TEST_CASE("setup is false with a reason when Redis is disabled") {
  prefork::config::Redis redis;
  RedisStorageManager manager(redis);
  CHECK_FALSE(manager.setup());
  CHECK(manager.last_error().find("REDIS_ENABLED") != std::string::npos);
  CHECK_FALSE(manager.is_enabled());
  CHECK(manager.get_client() == nullptr);
  CHECK(manager.get_collector() == nullptr);
}

TEST_CASE("TLS to a Redis that speaks plaintext fails setup: it never falls back to plaintext") {
  RedisServer server;
  prefork::config::Redis redis = config_of(server);
  redis.ssl = true;
  RedisStorageManager manager(redis, "", [&](const RedisEndpoint& endpoint) {
    CHECK(endpoint.tls != nullptr);
    return std::make_unique<RedisStorageClient>(endpoint);
  });
  CHECK_FALSE(manager.setup());
  CHECK(manager.last_error().find("TLS") != std::string::npos);
}

TEST_CASE("setup is false when Redis is absent") {
  prefork::config::Redis redis;
  redis.enabled = true;
  redis.host = "127.0.0.1";
  redis.port = prefork::testing::unused_port();
  redis.connect_timeout = 1;
  RedisStorageManager manager(redis);
  CHECK_FALSE(manager.setup());
  CHECK(manager.last_error().find("127.0.0.1") != std::string::npos);
  CHECK_FALSE(manager.is_enabled());
  CHECK_FALSE(manager.is_connected());
}

TEST_CASE("setup is false with a wrong password, true with the right one") {
  RedisServer server({"letmein"});
  prefork::config::Redis redis = config_of(server);
  redis.password = "wrong";
  RedisStorageManager wrong(redis);
  CHECK_FALSE(wrong.setup());
  CHECK(wrong.last_error().find("password") != std::string::npos);

  redis.password = "letmein";
  int made = 0;
  RedisStorageManager right(redis, "", [&](const RedisEndpoint& endpoint) {
    ++made;
    CHECK(endpoint.password == "letmein");
    return std::make_unique<RedisStorageClient>(endpoint);
  });
  REQUIRE(right.setup());
  CHECK(made == 1);
  CHECK(right.is_enabled());
  CHECK(right.is_connected());
  REQUIRE(right.get_client() != nullptr);
  REQUIRE(right.get_collector() != nullptr);
  CHECK(right.get_collector()->collect().empty());
  right.teardown();
  CHECK_FALSE(right.is_enabled());
  CHECK_FALSE(right.is_connected());
}

TEST_CASE("setup through PROMETHEUS_REDIS_URL") {
  RedisServer server({"urlpass"});
  prefork::config::Redis redis;
  redis.enabled = true;
  redis.url = server.url(4);
  RedisStorageManager manager(redis);
  REQUIRE(manager.setup());
  CHECK(manager.get_client()->endpoint().db == 4);
}

TEST_CASE("cleanup_keys cleans this instance's dead processes and nothing else") {
  RedisServer server;
  prefork::config::Redis redis = config_of(server);
  RedisStorageManager manager(redis, "web");
  REQUIRE(manager.setup());
  RedisStorageDict& dict = *manager.get_dict();

  pid_t dead = fork();
  REQUIRE(dead >= 0);
  if (dead == 0) _exit(0);
  REQUIRE(waitpid(dead, nullptr, 0) == dead);

  std::string json = key_of("requests", "requests_total");
  std::string live_process = process_name("web", getpid());
  std::string dead_process = process_name("web", dead);
  std::string other_instance = process_name("api", dead);
  dict.write_value({counter(), live_process, json}, 1, 0);
  dict.write_value({counter(), dead_process, json}, 2, 0);
  dict.write_value({counter(), other_instance, json}, 4, 0);

  CHECK(manager.cleanup_keys() == 1);
  CHECK(dict.size(live_process) == 1);
  CHECK(dict.size(dead_process) == 0);
  CHECK(dict.size(other_instance) == 1);
  CHECK(dict.read_value({counter(), "web-archive", json})->value == 2);
  CHECK(manager.cleanup_keys() == 0);
}
