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
  for (const std::string& text : redis.sentinels) {
    config::RedisAddress sentinel;
    sentinel.port = 26379;
    if (Status status = config::parse_host_port(text, sentinel); !status.ok())
      return Status::error("redis.sentinels: " + config::quoted(text) + ": " + status.message());
    endpoint.sentinels.push_back({sentinel.host, sentinel.port});
  }
  endpoint.sentinel_master = redis.sentinel_master;
  endpoint.sentinel_password = redis.sentinel_password;
  if (!redis.ssl && !address.tls) return endpoint;
  Result<std::shared_ptr<net::tls::ClientContext>> tls =
      net::tls::ClientContext::make({redis.ssl_ca_certs, redis.ssl_certfile, redis.ssl_keyfile,
                                     redis.ssl_cert_reqs != "none", redis.ssl_check_hostname});
  if (!tls) return Status::error("Redis TLS: " + tls.message());
  endpoint.tls = std::move(*tls);
  return endpoint;
}

std::string describe(const RedisEndpoint& endpoint) {
  std::string address = endpoint.host + ":" + std::to_string(endpoint.port);
  if (endpoint.sentinels.empty()) return address;
  return "master " + endpoint.sentinel_master + " at " + address;
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
