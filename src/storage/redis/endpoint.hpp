// Where Redis is and how to log in: config::Redis resolved into one value. The config loader
// has already applied PROMETHEUS_REDIS_URL and refused TLS.
#pragma once

#include <string>

#include "config/config.hpp"

namespace prefork::storage {

struct RedisEndpoint {
  std::string host = "localhost";
  int port = 6379;
  int db = 0;
  std::string password;
  double connect_timeout = 5;  // seconds
  double command_timeout = 5;  // seconds
};

RedisEndpoint resolve_endpoint(const config::Redis& redis);

}  // namespace prefork::storage
