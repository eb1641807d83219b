// Makes the TLS contexts of a configuration (tls_setup.hpp); the options are tls_options.cpp's.
#include "master/tls_setup.hpp"

#include <algorithm>
#include <utility>

namespace prefork::master {

Result<TlsContexts> load_tls(const config::Config& config) {
  TlsContexts contexts;
  bool app_tls = std::any_of(config.binds.begin(), config.binds.end(),
                             [](const config::Bind& bind) { return bind.tls; });
  if (app_tls || config.tls.every_listener) {
    auto made = net::tls::ServerContext::make(app_tls_options(config));
    if (!made) return Result<TlsContexts>::error(made.message());
    contexts.app = std::move(made.value());
  }
  if (config.metrics.tls()) {
    auto made = net::tls::ServerContext::make(metrics_tls_options(config.metrics));
    if (!made) return Result<TlsContexts>::error(made.message());
    contexts.metrics = std::move(made.value());
  }
  return contexts;
}

}  // namespace prefork::master
