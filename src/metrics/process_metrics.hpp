// prometheus_client's ProcessCollector for one process of the server: its six names, help
// texts and types, read on the caller's timer (never per request) and stored like any metric,
// so that the master aggregates them with the rest.
//
// Labelled worker_id (a worker's position, "master" for the master), because prometheus_client's
// multiprocess rules would otherwise merge every process into one meaningless series:
//   process_cpu_seconds_total       counter: summed by worker_id over the processes that held
//                                   it, dead ones included, so it never goes back and rate()
//                                   stays exact across restarts
//   process_resident_memory_bytes,  gauges (liveall): one series per live process, with the
//   process_virtual_memory_bytes,   pid label the aggregation adds; gone with the process
//   process_start_time_seconds,
//   process_open_fds, process_max_fds
#pragma once

#include <prefork/metrics.hpp>

#include <string_view>

#include "core/process_stats.hpp"

namespace prefork::metrics {

class ProcessMetrics {
 public:
  // Declares the metrics in registry and stores the start time; update() stores the rest.
  ProcessMetrics(Registry& registry, std::string_view worker_id);
  ProcessMetrics(const ProcessMetrics&) = delete;
  ProcessMetrics& operator=(const ProcessMetrics&) = delete;

  // Reads the process now and stores the reading, which it returns for gauges derived from it.
  ProcessStats update();

 private:
  CounterChild& cpu_seconds_;
  GaugeChild& resident_;
  GaugeChild& virtual_;
  GaugeChild& start_time_;
  GaugeChild& open_fds_;
  GaugeChild& max_fds_;
};

}  // namespace prefork::metrics
