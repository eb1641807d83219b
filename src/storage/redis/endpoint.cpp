#include "storage/redis/endpoint.hpp"

#include "config/redis_url.hpp"

namespace prefork::storage {

Result<RedisEndpoint> resolve_endpoint(const config::Redis& redis) {
  // Refused at load time already; a config made by hand (the exporter's manager API) is
  // refused here by the same rule.
  if (redis.ssl || redis.url.starts_with("rediss://")) return config::redis_tls_refused();
  RedisEndpoint endpoint;
  endpoint.host = redis.host;
  endpoint.port = redis.port;
  endpoint.db = redis.db;
  endpoint.password = redis.password;
  endpoint.connect_timeout = redis.connect_timeout;
  endpoint.command_timeout = redis.command_timeout;
  if (redis.url.empty()) return endpoint;

  config::RedisAddress address;
  if (Status status = config::parse_redis_url(redis.url, address); !status.ok()) {
    return Status::error("PROMETHEUS_REDIS_URL: " + status.message());
  }
  endpoint.host = address.host;
  endpoint.port = address.port;
  endpoint.db = address.db;
  if (!address.password.empty()) endpoint.password = address.password;
  return endpoint;
}

}  // namespace prefork::storage
