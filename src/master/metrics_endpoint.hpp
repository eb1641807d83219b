// The master's HTTP endpoint for Prometheus (ARCHITECTURE.md): GET /metrics and GET /health on the
// master's own loop. One request per connection (answered with Connection: close), parsed by
// the server's llhttp parser; collection runs on the thread pool (ScrapeGate, storage::Reader).
//
// /health: {"status", "storage", "redis_connected"}, answered at once (Reader::check_health).
// 200 when the storage in use works; 503 when Redis is the storage and does not answer a PING
// within 50 ms. After a fallback to files at start, metrics are still served: 200 with
// "status": "degraded" and "redis_fallback": true. /metrics answers 503 when the storage
// fails or takes longer than metrics.scrape_timeout.
//
// The listener is a handle of the master's loop, so a forked worker closes it with the loop's
// other handles (Arbiter::release_master_loop).
#pragma once

#include <uv.h>

#include <string>

#include "config/config.hpp"
#include "core/uv_handle.hpp"
#include "master/scrape_gate.hpp"

namespace prefork::master {

class MetricsEndpoint {
 public:
  // config outlives the endpoint (its metrics and limits are read per connection).
  MetricsEndpoint(uv_loop_t* loop, const config::Config& config, ScrapeGate& gate);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Binds and listens; logs "Metrics listening at: http://ADDRESS:PORT".
  Status listen();
  int port() const { return port_; }

 private:
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  ScrapeGate& gate_;
  const config::Config& config_;
  UvHandle<uv_tcp_t> server_;
  int port_ = 0;
};

}  // namespace prefork::master
