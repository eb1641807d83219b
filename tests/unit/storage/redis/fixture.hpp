// Shared pieces of the Redis storage tests: endpoints of a test server and sample keys.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "metrics/json_key.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/storage_dict.hpp"
#include "support/redis_server.hpp"
#include "support/uv_loop.hpp"

namespace redis_test {

inline prefork::storage::RedisEndpoint endpoint_of(const prefork::testing::RedisServer& server) {
  prefork::storage::RedisEndpoint endpoint;
  endpoint.host = server.host();
  endpoint.port = server.port();
  endpoint.password = server.password();
  endpoint.connect_timeout = 2;
  endpoint.command_timeout = 2;
  return endpoint;
}

inline prefork::config::Redis config_of(const prefork::testing::RedisServer& server) {
  prefork::config::Redis redis;
  redis.enabled = true;
  redis.host = server.host();
  redis.port = server.port();
  redis.password = server.password();
  redis.connect_timeout = 2;
  redis.command_timeout = 2;
  redis.key_prefix = "test";
  redis.ttl_seconds = 300;
  return redis;
}

inline std::string key_of(const std::string& metric, const std::string& sample,
                          const prefork::metrics::Labels& labels = {}) {
  return prefork::metrics::json_key(metric, sample, labels, "help of " + metric);
}

inline prefork::metrics::ValueKind counter() {
  return {prefork::metrics::Type::counter, {}};
}
inline prefork::metrics::ValueKind gauge(prefork::metrics::GaugeMode mode) {
  return {prefork::metrics::Type::gauge, mode};
}

// A separate connection to inspect what the code under test stored.
inline std::unique_ptr<prefork::storage::RedisStorageClient> inspector(
    const prefork::testing::RedisServer& server) {
  auto client = std::make_unique<prefork::storage::RedisStorageClient>(endpoint_of(server));
  client->connect();
  return client;
}

inline long long integer_of(prefork::storage::RedisStorageClient& client,
                            const prefork::storage::Command& command) {
  return client.command(command)->integer;
}

inline std::string text_of(prefork::storage::RedisStorageClient& client,
                           const prefork::storage::Command& command) {
  return std::string(prefork::storage::reply_text(client.command(command).get()));
}

using prefork::testing::close_loop;
using prefork::testing::run_until;

}  // namespace redis_test
