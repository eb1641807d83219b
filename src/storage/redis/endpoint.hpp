// Where Redis is and how to log in: config::Redis resolved into one value. A
// PROMETHEUS_REDIS_URL (parsed by config::parse_redis_url) wins over host, port and db.
#pragma once

#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace prefork::storage {

struct RedisEndpoint {
  std::string host = "localhost";
  int port = 6379;
  int db = 0;
  std::string password;
  double connect_timeout = 5;  // seconds
  double command_timeout = 5;  // seconds
};

// The one place PROMETHEUS_REDIS_URL is applied. An error when REDIS_SSL is set or the URL is
// rediss:// (TLS is not supported and must never silently become plaintext) or malformed; its
// message never contains the password. A URL without a password keeps REDIS_PASSWORD.
Result<RedisEndpoint> resolve_endpoint(const config::Redis& redis);

}  // namespace prefork::storage
