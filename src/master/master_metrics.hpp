// The master's side of metrics (ARCHITECTURE.md): opens the storage backend at start, tells
// each new worker where its values go, hands reaped workers to the backend, keeps the
// master's own metrics, and answers /metrics and /health through the backend (gate()).
// Nothing here knows which storage is in use, and nothing here waits for it: the backend
// works off the loop, and a scrape that takes longer than metrics.scrape_timeout is answered
// with an error.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <prefork/metrics.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/uv_handle.hpp"
#include "master/reap_observer.hpp"
#include "master/restart_metrics.hpp"
#include "master/scrape_gate.hpp"
#include "metrics/process_metrics.hpp"
#include "net/tls/server_session.hpp"
#include "storage/backend.hpp"

namespace prefork::master {

class MasterMetrics final : public ReapObserver {
 public:
  // Null when config.metrics.enabled is false. Logs the storage it chose and why.
  static std::unique_ptr<MasterMetrics> start(const config::Config& config, uv_loop_t* loop);
  MasterMetrics(const config::Config& config, uv_loop_t* loop);
  ~MasterMetrics() override;

  const config::Config& config() const { return config_; }

  storage::WorkerPlace prepare_worker() override;
  void worker_forked(pid_t pid, int position) override;
  void close_in_worker() override;
  void worker_reaped(const ReapedWorker& worker) override;
  void signal_handled(int signum) override;
  void workers_changed(int live) override;

  // /metrics and /health, for the endpoint.
  ScrapeGate& gate() { return gate_; }
  // The endpoint's failed TLS connections, by reason.
  void count_tls_failure(net::tls::Failure failure);

  // Before the master exits: the last values written, its own series cleaned up.
  void shut_down();

 private:
  void make_registry();
  void start_process_timer(uv_loop_t* loop);

  config::Config config_;
  std::unique_ptr<storage::Backend> backend_;
  ScrapeGate gate_;
  std::unique_ptr<metrics::Registry> registry_;
  metrics::ValueStore* master_store_ = nullptr;  // the registry's: its files close in a worker
  metrics::Counter* restarts_ = nullptr;
  std::unique_ptr<RestartMetrics> worker_restarts_;
  metrics::Gauge* workers_ = nullptr;
  metrics::Counter* signals_ = nullptr;
  metrics::Counter* tls_failures_ = nullptr;
  std::optional<metrics::ProcessMetrics> process_;  // worker_id "master"
  UvTimer process_timer_;
  bool shut_down_ = false;
};

}  // namespace prefork::master
