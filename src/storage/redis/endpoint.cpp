#include "storage/redis/endpoint.hpp"

#include "config/redis_url.hpp"

namespace prefork::storage {
namespace {

void apply_url(const config::RedisAddress& address, RedisEndpoint& endpoint) {
  endpoint.host = address.host;
  endpoint.port = address.port;
  endpoint.db = address.db;
  if (address.has_credentials) {
    endpoint.username = address.username;
    endpoint.password = address.password;
  }
}

}  // namespace

Result<RedisEndpoint> resolve_endpoint(const config::Redis& redis) {
  RedisEndpoint endpoint;
  endpoint.host = redis.host;
  endpoint.port = redis.port;
  endpoint.db = redis.db;
  endpoint.username = redis.username;
  endpoint.password = redis.password;
  endpoint.connect_timeout = redis.connect_timeout;
  endpoint.command_timeout = redis.command_timeout;
  config::RedisAddress address;
  if (!redis.url.empty()) {
    if (Status status = config::parse_redis_url(redis.url, address); !status.ok())
      return Status::error("PROMETHEUS_REDIS_URL: " + status.message());
    apply_url(address, endpoint);
  }
  if (!redis.ssl && !address.tls) return endpoint;
  Result<std::shared_ptr<net::tls::ClientContext>> tls =
      net::tls::ClientContext::make({redis.ssl_ca_certs, redis.ssl_certfile, redis.ssl_keyfile,
                                     redis.ssl_cert_reqs != "none", redis.ssl_check_hostname});
  if (!tls) return Status::error("Redis TLS: " + tls.message());
  endpoint.tls = std::move(*tls);
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
