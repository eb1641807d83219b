// Parses PROMETHEUS_REDIS_URL: redis[s]://[[user]:password@]host[:port][/db], the user and password
// percent-decoded.
#pragma once

#include "config/input.hpp"

#include <string>

namespace prefork::config {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  bool tls = false;              // rediss://
  bool has_credentials = false;  // the URL has a user-info part ("user:password@", ":password@")
  std::string username;
  std::string password;
};

// "host:port", "[v6]:port" or "host" (address.port stays as it was): a Redis, a sentinel.
Status parse_host_port(const std::string& authority, RedisAddress& address);

// Parts the URL leaves out take Redis' defaults (port 6379, db 0, no user, no password).
Status parse_redis_url(const std::string& url, RedisAddress& address);

// The URL without its password, for logs and --print-config: "redis://user:***@host"; a URL
// without user info is returned as it is.
std::string redact_password(const std::string& url);

}  // namespace prefork::config
