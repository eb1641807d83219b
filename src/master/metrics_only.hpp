// `prefork metrics` (or --metrics-only): a process that serves /metrics and /health from what
// other processes store, with no workers and no app: the exporter's sidecar mode, and with
// metrics.scope = "fleet" one view of every instance on a Redis. It writes nothing to the
// storage (no values of its own, no cleanup, no archive: those belong to each instance's
// master), so any number of them can read the same Redis beside the masters.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "net/tls/server_context.hpp"

namespace prefork::master {

// Runs until TERM, INT or QUIT; USR1 and HUP reopen the error log (certificates too are read
// again only at the next start). Returns the exit code.
// tls: HTTPS with this context (TlsContexts::metrics), or null.
int serve_metrics_only(const config::Config& config,
                       std::shared_ptr<const net::tls::ServerContext> tls);

}  // namespace prefork::master
