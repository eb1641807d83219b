// Parses PROMETHEUS_REDIS_URL: redis://[:password@]host[:port][/db].
#pragma once

#include "config/input.hpp"

#include <string>

namespace prefork::config {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;
};

// Parts the URL leaves out take Redis' defaults (port 6379, db 0, no password).
Status parse_redis_url(const std::string& url, RedisAddress& address);

// The one refusal of REDIS_SSL=true and of rediss:// URLs, both caught at load time.
Status redis_tls_refused();

}  // namespace prefork::config
