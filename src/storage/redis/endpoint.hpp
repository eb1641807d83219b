// Where Redis is and how to log in: config::Redis resolved into one value, with
// PROMETHEUS_REDIS_URL (redis://[:password@]host:port/db) taking precedence over the fields.
#pragma once

#include <string>
#include <string_view>

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

struct EndpointResult {
  RedisEndpoint endpoint;
  std::string error;  // "" when endpoint is usable
};

// Parses redis://[[user]:password@]host[:port][/db]. rediss:// is refused: TLS is not supported
// and must never silently become plaintext.
EndpointResult parse_redis_url(std::string_view url);

// The endpoint a config asks for; an error when REDIS_SSL is set or the URL is malformed.
EndpointResult resolve_endpoint(const config::Redis& redis);

}  // namespace prefork::storage
