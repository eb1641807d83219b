#include "storage/redis/endpoint.hpp"

#include <charconv>

#include "config/redis_url.hpp"
#include "storage/redis/cluster.hpp"
#include "storage/redis/keys.hpp"

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

Status add_hosts(const std::vector<std::string>& texts, int default_port, const char* key,
                 std::vector<RedisHost>& hosts) {
  for (const std::string& text : texts) {
    config::RedisAddress address;
    address.port = default_port;
    if (Status status = config::parse_host_port(text, address); !status.ok())
      return Status::error(std::string(key) + ": " + config::quoted(text) + ": " +
                           status.message());
    hosts.push_back({address.host, address.port});
  }
  return {};
}

}  // namespace

std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || port <= 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return port;
}

Result<RedisEndpoint> resolve_endpoint(const config::Redis& redis, std::string_view instance) {
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
  if (Status status = add_hosts(redis.sentinels, 26379, "redis.sentinels", endpoint.sentinels);
      !status.ok()) {
    return status;
  }
  if (Status status =
          add_hosts(redis.cluster_nodes, 6379, "redis.cluster_nodes", endpoint.cluster_nodes);
      !status.ok()) {
    return status;
  }
  endpoint.cluster_slot = key_slot(RedisKeys(redis.key_prefix, std::string(instance)).processes());
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
  if (!endpoint.sentinels.empty()) return "master " + endpoint.sentinel_master + " at " + address;
  if (!endpoint.cluster_nodes.empty())
    return "the owner of slot " + std::to_string(endpoint.cluster_slot) + " at " + address;
  return address;
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
