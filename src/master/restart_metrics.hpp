// gunicorn-prometheus-exporter's per-worker restart counters. The exporter counts them in the
// worker (on SIGQUIT, SIGABRT), which cannot count its own SIGKILL; here the master counts
// every restart when it reaps the worker, under the worker's worker_id (its position) and the
// same reasons as {prefix}_master_worker_restart_total:
//   {prefix}_worker_restart_total                counter {worker_id, reason}
//   {prefix}_worker_restart_count_total          counter {worker_id, restart_type, reason}
//   {prefix}_master_worker_restart_count_total   counter {worker_id, reason, restart_type}
// restart_type is "graceful" for a worker that exited with status 0, else "forced".
#pragma once

#include <prefork/metrics.hpp>

#include <string>

#include "master/reap_observer.hpp"

namespace prefork::master {

class RestartMetrics {
 public:
  RestartMetrics(metrics::Registry& registry, const std::string& prefix);

  // Exports the position's series at 0 before its first restart, so that increase() counts
  // that one too.
  void worker_started(int position);
  void worker_restarted(const ReapedWorker& worker);

 private:
  metrics::Counter& by_reason_;
  metrics::Counter& by_type_;
  metrics::Counter& master_by_type_;
};

}  // namespace prefork::master
