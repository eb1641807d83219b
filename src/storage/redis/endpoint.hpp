// Where Redis is and how to log in: config::Redis resolved into one value, TLS context
// included. A PROMETHEUS_REDIS_URL (parsed by config::parse_redis_url) wins over host, port,
// db, user and password.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "net/tls/client_context.hpp"

namespace prefork::storage {

struct RedisHost {
  std::string host;
  int port = 0;
};

// "6379" → 6379; nullopt unless the whole text is a port 1..65535.
std::optional<int> parse_port(std::string_view text);

struct RedisEndpoint {
  std::string host = "localhost";  // with sentinels or a cluster: the address as last asked
  int port = 6379;
  int db = 0;
  std::string username;  // an ACL user; "" = the default user
  std::string password;
  double connect_timeout = 5;                          // seconds
  double command_timeout = 5;                          // seconds
  std::shared_ptr<const net::tls::ClientContext> tls;  // null: plain TCP; sentinels too
  // Sentinel: set, every (re)connect asks these for sentinel_master's address and requires
  // ROLE = master of what it connects to.
  std::vector<RedisHost> sentinels;
  std::string sentinel_master;
  std::string sentinel_password;
  // Cluster: set, every (re)connect asks these for the owner of cluster_slot, the slot of the
  // instance's hash tag where all its keys are.
  std::vector<RedisHost> cluster_nodes;
  int cluster_slot = 0;
};

// "127.0.0.1:6379", "master mymaster at 127.0.0.1:6379" with sentinels, "the owner of slot
// 866 at 127.0.0.1:6379" in a cluster.
std::string describe(const RedisEndpoint& endpoint);

// The one place PROMETHEUS_REDIS_URL is applied; REDIS_SSL or a rediss:// URL loads the TLS
// files (an error names the one that cannot be used). An error message never contains the
// password. A URL without user and password keeps REDIS_USERNAME and REDIS_PASSWORD. instance
// is key_instance's (keys.hpp): in a cluster, its slot is the one written to.
Result<RedisEndpoint> resolve_endpoint(const config::Redis& redis, std::string_view instance);

// The AUTH of every (re)connect: "AUTH USER PASSWORD" for an ACL user (a "nopass" user takes
// any password, "" included), "AUTH PASSWORD" for the default user, none without either.
std::vector<std::string> auth_command(const RedisEndpoint& endpoint);

// "the password" or "user U's password", for the message when AUTH is refused.
std::string credentials_named(const RedisEndpoint& endpoint);

}  // namespace prefork::storage
