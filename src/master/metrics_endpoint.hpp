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
// With metrics.ssl_certfile (PROMETHEUS_SSL_*) it speaks HTTPS, with client certificates when
// ssl_client_auth_required. A client that has not sent its whole request within
// limits.header_timeout of connecting (a stalled handshake included) is closed.
//
// The listener is a handle of the master's loop, so a forked worker closes it with the loop's
// other handles (Arbiter::release_master_loop).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/uv_handle.hpp"
#include "master/scrape_gate.hpp"
#include "net/tls/server_context.hpp"
#include "net/tls/server_session.hpp"

namespace prefork::master {

class MetricsEndpoint {
 public:
  using TlsFailureCounter = std::function<void(net::tls::Failure)>;

  // config outlives the endpoint (its metrics and limits are read per connection). tls: HTTPS
  // with this context (TlsContexts::metrics); null: plain HTTP.
  MetricsEndpoint(uv_loop_t* loop, const config::Config& config, ScrapeGate& gate,
                  std::shared_ptr<const net::tls::ServerContext> tls = nullptr);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Binds and listens; logs "Metrics listening at: http://ADDRESS:PORT" (or https://).
  Status listen();
  // The same on a socket bound already: the old master's, inherited across USR2's exec.
  Status listen_on(int fd);
  int port() const { return port_; }
  // The listening socket; -1 before listen().
  int fd() const;
  // HUP: new connections take the re-read certificates. Whether the endpoint speaks TLS at all
  // is fixed at start, as its address is.
  void use_tls(std::shared_ptr<const net::tls::ServerContext> tls);
  // Where failed handshakes are counted; none by default.
  void count_tls_failures_with(TlsFailureCounter counter) { count_failure_ = std::move(counter); }

 private:
  static void on_connection(uv_stream_t* server, int status);
  // Listens on the bound socket and logs where.
  Status start_listening(const std::string& where);

  uv_loop_t* loop_;
  ScrapeGate& gate_;
  const config::Config& config_;
  std::shared_ptr<const net::tls::ServerContext> tls_;
  TlsFailureCounter count_failure_;
  UvHandle<uv_tcp_t> server_;
  int port_ = 0;
};

}  // namespace prefork::master
