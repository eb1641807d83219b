// The worker's built-in metrics (ARCHITECTURE.md), named as gunicorn-prometheus-exporter names them
// under config.metrics.prefix, every series labelled worker_id:
//   {prefix}_worker_requests_total                 counter
//   {prefix}_worker_request_duration_seconds       histogram (metrics.duration_buckets)
//   {prefix}_worker_request_size_bytes             histogram (metrics.size_buckets)
//   {prefix}_worker_response_size_bytes            histogram (metrics.size_buckets)
//   {prefix}_worker_failed_requests_total          counter {method, endpoint, status_class,
//       error_type}: endpoint as in error_handling_total
//   {prefix}_worker_memory_bytes                   gauge, RSS
//   {prefix}_worker_cpu_percent                    gauge, over the last minute, 100 = one core
//   {prefix}_worker_uptime_seconds                 gauge
//   {prefix}_worker_state                          gauge: 1 serving, 0 stopping
//   {prefix}_worker_accept_errors_total            counter: accept() failures (EMFILE, ENFILE…)
//   {prefix}_worker_tls_handshake_errors_total     counter {reason}: TLS connections that failed
//   {prefix}_worker_error_handling_total           counter {method, endpoint, error_type}: a
//       handler's exception (error_type its type) or a request rejected unparsed
//       ("invalid_request"); endpoint is the route the app named (Request::set_route), else
//       "other" (the exporter's raw path is unbounded)
// Gauges use the liveall mode: a dead worker's gauges disappear with it. And prometheus_client's
// process_* metrics, labelled worker_id too (metrics/process_metrics.hpp).
#pragma once

#include <prefork/metrics.hpp>

#include <string>
#include <vector>

#include "net/tls/server_session.hpp"

#include "metrics/process_metrics.hpp"
#include "worker/cpu_window.hpp"
#include "worker/observer.hpp"

namespace prefork::worker {

// The bounds of the built-in histograms, from the configuration (+Inf is added).
struct HistogramBounds {
  std::vector<double> duration;  // seconds
  std::vector<double> size;      // bytes, requests and responses
};

class BuiltinMetrics final : public RequestObserver {
 public:
  // Declares the metrics in registry and keeps the children every request touches.
  BuiltinMetrics(metrics::Registry& registry, const std::string& prefix, int worker_id,
                 const HistogramBounds& bounds);

  // Per request: plain adds into cells found at startup; labels are looked up (without
  // allocating) only for failed requests.
  void on_request(const RequestRecord& record) override;
  void on_handler_error(std::string_view method, std::string_view route,
                        std::string_view error_type) override;

  // Memory, CPU, uptime and the process_* metrics, read now.
  void update_process_gauges();
  void mark_stopping() { state_.set(0); }
  metrics::CounterChild& accept_errors() { return accept_errors_; }
  void count_tls_failure(net::tls::Failure failure);

 private:
  void count_error(std::string_view method, std::string_view route, std::string_view error_type);

  std::string worker_id_;
  metrics::CounterChild& requests_;
  metrics::HistogramChild& duration_;
  metrics::HistogramChild& request_size_;
  metrics::HistogramChild& response_size_;
  metrics::Counter& failed_;
  metrics::GaugeChild& memory_;
  metrics::GaugeChild& cpu_;
  metrics::GaugeChild& uptime_;
  metrics::GaugeChild& state_;
  metrics::CounterChild& accept_errors_;
  metrics::Counter& tls_failures_;
  metrics::Counter& errors_handled_;
  double started_at_;
  metrics::ProcessMetrics process_;
  CpuWindow cpu_window_;
};

// The method as a label value: one of the standard methods, else "OTHER" (bounded cardinality
// whatever clients send).
std::string_view method_label(std::string_view method);

}  // namespace prefork::worker
