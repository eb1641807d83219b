// The TLS contexts of a configuration: one for the app listeners that speak TLS, one for the
// metrics endpoint. Made in the master before fork, so that workers never read a key file, and
// made again on HUP, so that rotated certificates are picked up.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "core/result.hpp"
#include "net/tls/server_context.hpp"

namespace prefork::master {

struct TlsContexts {
  std::shared_ptr<const net::tls::ServerContext> app;      // null: no listener speaks TLS
  std::shared_ptr<const net::tls::ServerContext> metrics;  // null: /metrics is plain HTTP
};

// Reads every certificate and key the configuration names. An error names the key and the file
// ("certfile /etc/x.pem: no start line").
Result<TlsContexts> load_tls(const config::Config& config);

}  // namespace prefork::master
