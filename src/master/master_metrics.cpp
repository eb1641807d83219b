#include "master/master_metrics.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <prefork/version.hpp>
#include <string>

#include "core/log.hpp"
#include "core/signal_name.hpp"

namespace prefork::master {
namespace {

// As often as a worker reads its own (worker/worker_metrics.cpp).
constexpr std::uint64_t process_period_ms = 1000;

}  // namespace

std::unique_ptr<MasterMetrics> MasterMetrics::start(const config::Config& config, uv_loop_t* loop) {
  if (!config.metrics.enabled) {
    log::info("Metrics: off");
    return nullptr;
  }
  return std::make_unique<MasterMetrics>(config, loop);
}

MasterMetrics::MasterMetrics(const config::Config& config, uv_loop_t* loop)
    : config_(config),
      backend_(storage::open_backend(config_, loop)),
      gate_(loop, *backend_, config_.metrics.scrape_timeout) {
  make_registry();
  start_process_timer(loop);
}

MasterMetrics::~MasterMetrics() {
  shut_down();
}

void MasterMetrics::shut_down() {
  if (shut_down_) return;
  shut_down_ = true;
  process_timer_.reset();
  gate_.close();
  backend_->shut_down();
}

void MasterMetrics::make_registry() {
  std::unique_ptr<metrics::ValueStore> store = backend_->master_store();
  master_store_ = store.get();
  registry_ = std::make_unique<metrics::Registry>(std::move(store));
  const std::string& prefix = config_.metrics.prefix;
  restarts_ =
      &registry_->counter(prefix + "_master_worker_restart_total",
                          "Workers restarted, by the reason the old one exited.", {"reason"});
  // Every reason from 0: a series that first appears at 1 has no earlier sample for increase()
  // or rate(), which then miss the first restarts (all workers killed in one scrape interval).
  for (ExitReason reason : exit_reasons) restarts_->labels({exit_reason_name(reason)});
  worker_restarts_ = std::make_unique<RestartMetrics>(*registry_, prefix);
  workers_ =
      &registry_->gauge(prefix + "_master_workers", "Worker processes alive.", {}, "livemax");
  signals_ = &registry_->counter(prefix + "_master_signals_total", "Signals the master handled.",
                                 {"signal"});
  tls_failures_ = &registry_->counter(
      prefix + "_master_tls_handshake_errors_total",
      "TLS connections to /metrics closed for a failed handshake or session, by reason.",
      {"reason"});
  // Set once: a fallback lasts until the master restarts. 0 is exported too, so that an alert
  // on the gauge tells a healthy storage from a master that is not scraped.
  registry_
      ->gauge(prefix + "_master_storage_degraded",
              "1 while metrics are kept in files because Redis was unreachable at start "
              "(/health: degraded), else 0.",
              {}, "livemax")
      .set(backend_->redis_fallback() ? 1 : 0);
  // Fixed name, whatever the prefix: it describes prefork, not the gunicorn it stands in for.
  registry_
      ->gauge("prefork_build_info",
              "prefork's version and the app ABI (abi_version) it loads; always 1.",
              {"version", "abi"}, "livemax")
      .labels({version, std::to_string(abi_version)})
      .set(1);
  process_.emplace(*registry_, "master");
  process_->update();
  backend_->master_values_changed();
}

// The master's process_* metrics are read on a timer, as a worker's, rather than at scrape time:
// with Redis a scrape reads what was written before it, and the gauges agree in time with the
// workers'.
void MasterMetrics::start_process_timer(uv_loop_t* loop) {
  process_timer_ = UvTimer(loop, uv_timer_init);
  process_timer_->data = this;
  uv_timer_start(
      process_timer_.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<MasterMetrics*>(timer->data);
        self->process_->update();
        self->backend_->master_values_changed();
      },
      process_period_ms, process_period_ms);
  // Never keeps the loop alive on its own.
  uv_unref(process_timer_.base());
}

storage::WorkerPlace MasterMetrics::prepare_worker() {
  return backend_->prepare_worker();
}

void MasterMetrics::worker_forked(pid_t pid, int position) {
  backend_->worker_forked(pid);
  if (pid < 0) return;
  worker_restarts_->worker_started(position);
  backend_->master_values_changed();
}

void MasterMetrics::close_in_worker() {
  master_store_->close_in_child();
  backend_->close_in_child();
}

// The restart is counted once the dead worker's values are stored, so that a scrape never
// sees the restart without the requests the worker answered.
void MasterMetrics::worker_reaped(const ReapedWorker& worker) {
  backend_->worker_reaped(worker.pid, [this, worker] {
    restarts_->labels({exit_reason_name(worker.reason)}).inc();
    worker_restarts_->worker_restarted(worker);
    backend_->master_values_changed();
  });
}

void MasterMetrics::signal_handled(int signum) {
  signals_->labels({signal_label(signum)}).inc();
  backend_->master_values_changed();
}

void MasterMetrics::count_tls_failure(net::tls::Failure failure) {
  tls_failures_->labels({net::tls::failure_name(failure)}).inc();
  backend_->master_values_changed();
}

void MasterMetrics::workers_changed(int live) {
  workers_->set(live);
  backend_->master_values_changed();
}

}  // namespace prefork::master
