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
  endpoint.username = redis.username;
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
  if (address.has_credentials) {
    endpoint.username = address.username;
    endpoint.password = address.password;
  }
  return endpoint;
}

std::vector<std::string> auth_command(const RedisEndpoint& endpoint) {
  if (!endpoint.username.empty()) return {"AUTH", endpoint.username, endpoint.password};
  if (!endpoint.password.empty()) return {"AUTH", endpoint.password};
  return {};
}

std::string credentials_named(const RedisEndpoint& endpoint) {
  return endpoint.username.empty() ? "the password" : "user " + endpoint.username + "'s password";
}

}  // namespace prefork::storage
