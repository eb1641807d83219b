#include "metrics/process_metrics.hpp"

namespace prefork::metrics {
namespace {

GaugeChild& process_gauge(Registry& registry, std::string_view name, std::string_view help,
                          std::string_view worker_id) {
  return registry.gauge(name, help, {"worker_id"}, "liveall").labels({worker_id});
}

// Unread values are left unset rather than stored as -1.
void set_if_read(GaugeChild& gauge, double value) {
  if (value >= 0) gauge.set(value);
}

}  // namespace

ProcessMetrics::ProcessMetrics(Registry& registry, std::string_view worker_id)
    : cpu_seconds_(registry
                       .counter("process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.", {"worker_id"})
                       .labels({worker_id})),
      resident_(process_gauge(registry, "process_resident_memory_bytes",
                              "Resident memory size in bytes.", worker_id)),
      virtual_(process_gauge(registry, "process_virtual_memory_bytes",
                             "Virtual memory size in bytes.", worker_id)),
      start_time_(process_gauge(registry, "process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                worker_id)),
      open_fds_(process_gauge(registry, "process_open_fds", "Number of open file descriptors.",
                              worker_id)),
      max_fds_(process_gauge(registry, "process_max_fds",
                             "Maximum number of open file descriptors.", worker_id)) {
  set_if_read(start_time_, process_start_time_seconds());
}

ProcessStats ProcessMetrics::update() {
  ProcessStats stats = read_process_stats();
  // The counter's cell holds this process's own CPU time only (each process writes its own
  // values): adding the difference makes it the reading.
  double unrecorded = stats.cpu_seconds - cpu_seconds_.value();
  if (unrecorded > 0) cpu_seconds_.inc(unrecorded);
  set_if_read(resident_, stats.resident_bytes);
  set_if_read(virtual_, stats.virtual_bytes);
  set_if_read(open_fds_, stats.open_fds);
  // Last: a reader that sees it set (it is never 0) sees the whole first reading.
  set_if_read(max_fds_, stats.max_fds);
  return stats;
}

}  // namespace prefork::metrics
