#include "worker/builtin_metrics.hpp"

#include <array>

#include "core/clock.hpp"
#include "worker/handler_call.hpp"

namespace prefork::worker {
std::string_view method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 9> known = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view name : known) {
    if (method == name) return name;
  }
  return "OTHER";
}

BuiltinMetrics::BuiltinMetrics(metrics::Registry& registry, const std::string& prefix,
                               int worker_id, const HistogramBounds& bounds)
    : worker_id_(std::to_string(worker_id)),
      requests_(registry
                    .counter(prefix + "_worker_requests_total", "Total number of requests handled.",
                             {"worker_id"})
                    .labels({worker_id_})),
      duration_(registry
                    .histogram(prefix + "_worker_request_duration_seconds",
                               "Request duration in seconds.", {"worker_id"}, bounds.duration)
                    .labels({worker_id_})),
      request_size_(registry
                        .histogram(prefix + "_worker_request_size_bytes",
                                   "Request size in bytes (head and body as received).",
                                   {"worker_id"}, bounds.size)
                        .labels({worker_id_})),
      response_size_(registry
                         .histogram(prefix + "_worker_response_size_bytes",
                                    "Response size in bytes (as serialized).", {"worker_id"},
                                    bounds.size)
                         .labels({worker_id_})),
      failed_(registry.counter(prefix + "_worker_failed_requests_total",
                               "Requests answered with a 4xx or 5xx status.",
                               {"worker_id", "method", "endpoint", "status_class", "error_type"})),
      memory_(registry
                  .gauge(prefix + "_worker_memory_bytes", "Resident memory of the worker in bytes.",
                         {"worker_id"}, "liveall")
                  .labels({worker_id_})),
      cpu_(registry
               .gauge(prefix + "_worker_cpu_percent",
                      "CPU use of the worker over the last minute, from "
                      "process_cpu_seconds_total (100 = one core).",
                      {"worker_id"}, "liveall")
               .labels({worker_id_})),
      uptime_(registry
                  .gauge(prefix + "_worker_uptime_seconds", "Seconds since the worker started.",
                         {"worker_id"}, "liveall")
                  .labels({worker_id_})),
      state_(registry
                 .gauge(prefix + "_worker_state", "Worker state: 1 serving, 0 stopping.",
                        {"worker_id"}, "liveall")
                 .labels({worker_id_})),
      accept_errors_(registry
                         .counter(prefix + "_worker_accept_errors_total",
                                  "Clients the worker could not accept (out of descriptors or "
                                  "memory); they stay queued.",
                                  {"worker_id"})
                         .labels({worker_id_})),
      tls_failures_(registry.counter(
          prefix + "_worker_tls_handshake_errors_total",
          "TLS connections closed for a failed handshake or session, by reason (timeout, "
          "protocol, certificate, alert, eof).",
          {"worker_id", "reason"})),
      errors_handled_(registry.counter(
          prefix + "_worker_error_handling_total",
          "Errors handled by the worker: exceptions of handlers (error_type: their type) and "
          "requests rejected before they were parsed (invalid_request).",
          {"worker_id", "method", "endpoint", "error_type"})),
      started_at_(metrics::detail::now_seconds()),
      process_(registry, worker_id_) {
  state_.set(1);
  update_process_gauges();
}

void BuiltinMetrics::on_request(const RequestRecord& record) {
  requests_.inc();
  duration_.observe(record.duration_seconds);
  request_size_.observe(double(record.request_bytes));
  response_size_.observe(double(record.answer.size() + record.streamed_bytes));
  if (record.status < 400) return;
  if (record.request == nullptr) {
    count_error(method_label(record.method), unnamed_route, "invalid_request");
  }
  bool server_error = record.status >= 500;
  failed_
      .labels({worker_id_, method_label(record.method),
               record.request ? route_label(*record.request) : unnamed_route,
               server_error ? "5xx" : "4xx", server_error ? "server_error" : "client_error"})
      .inc();
}

void BuiltinMetrics::on_handler_error(std::string_view method, std::string_view route,
                                      std::string_view error_type) {
  count_error(method, route, error_type);
}

// endpoint is the exporter's label, which holds the raw path there, one series per URL a client
// invents: here the app's route name, bounded by its promise (Request::set_route), or "other".
void BuiltinMetrics::count_error(std::string_view method, std::string_view route,
                                 std::string_view error_type) {
  errors_handled_.labels({worker_id_, method, route, error_type}).inc();
}

void BuiltinMetrics::count_tls_failure(net::tls::Failure failure) {
  tls_failures_.labels({worker_id_, net::tls::failure_name(failure)}).inc();
}

void BuiltinMetrics::update_process_gauges() {
  ProcessStats stats = process_.update();
  if (stats.resident_bytes >= 0) memory_.set(stats.resident_bytes);
  if (stats.cpu_seconds >= 0) cpu_.set(cpu_window_.add(monotonic_usec() / 1e6, stats.cpu_seconds));
  uptime_.set(metrics::detail::now_seconds() - started_at_);
}

}  // namespace prefork::worker
