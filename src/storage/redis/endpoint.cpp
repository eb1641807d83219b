#include "storage/redis/endpoint.hpp"

#include "config/redis_url.hpp"

namespace prefork::storage {

EndpointResult resolve_endpoint(const config::Redis& redis) {
  EndpointResult result;
  if (redis.ssl || redis.url.starts_with("rediss://")) {
    result.error =
        "TLS to Redis (REDIS_SSL / rediss://) is not supported; refusing to "
        "connect in plaintext";
    return result;
  }
  result.endpoint.host = redis.host;
  result.endpoint.port = redis.port;
  result.endpoint.db = redis.db;
  result.endpoint.password = redis.password;
  result.endpoint.connect_timeout = redis.connect_timeout;
  result.endpoint.command_timeout = redis.command_timeout;
  if (redis.url.empty()) return result;

  config::RedisAddress address;
  if (Status status = config::parse_redis_url(redis.url, address); !status.ok()) {
    result.error = "PROMETHEUS_REDIS_URL: " + status.message();
    return result;
  }
  result.endpoint.host = address.host;
  result.endpoint.port = address.port;
  result.endpoint.db = address.db;
  if (!address.password.empty()) result.endpoint.password = address.password;
  return result;
}

}  // namespace prefork::storage
