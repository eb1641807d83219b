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

// What the contexts are made of: gunicorn's settings for the app listeners (ALPN http/1.1), and
// the exporter's for /metrics (a client certificate asked for only when required; TLS 1.2 at
// least). Pure: no file is read.
net::tls::ServerOptions app_tls_options(const config::Config& config);
net::tls::ServerOptions metrics_tls_options(const config::Metrics& metrics);

// Reads every certificate and key the configuration names. An error names the key and the file
// ("certfile /etc/x.pem: no start line").
Result<TlsContexts> load_tls(const config::Config& config);

}  // namespace prefork::master
