#include "master/restart_metrics.hpp"

#include <sys/wait.h>

#include <string_view>

namespace prefork::master {
namespace {

constexpr std::string_view graceful = "graceful";
constexpr std::string_view forced = "forced";

struct RestartKind {
  ExitReason reason;
  std::string_view type;
};
// The pairs a reap can produce (a retired worker is killed when it outlives
// graceful_timeout; a timed-out or signalled one never exits 0); exported from the start.
constexpr RestartKind restart_kinds[] = {
    {ExitReason::exited, graceful},   {ExitReason::exited, forced},
    {ExitReason::signaled, forced},   {ExitReason::timeout, forced},
    {ExitReason::boot_error, forced}, {ExitReason::retired, graceful},
    {ExitReason::retired, forced},
};

std::string_view restart_type(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? graceful : forced;
}

}  // namespace

RestartMetrics::RestartMetrics(metrics::Registry& registry, const std::string& prefix)
    : by_reason_(registry.counter(prefix + "_worker_restart_total",
                                  "Worker restarts by worker and the reason the old one exited.",
                                  {"worker_id", "reason"})),
      by_type_(registry.counter(prefix + "_worker_restart_count_total",
                                "Worker restarts by worker, restart type and reason.",
                                {"worker_id", "restart_type", "reason"})),
      master_by_type_(registry.counter(prefix + "_master_worker_restart_count_total",
                                       "Worker restarts by reason, worker and restart type.",
                                       {"worker_id", "reason", "restart_type"})) {}

void RestartMetrics::worker_started(int position) {
  std::string worker_id = std::to_string(position);
  for (ExitReason reason : exit_reasons) by_reason_.labels({worker_id, exit_reason_name(reason)});
  for (const RestartKind& kind : restart_kinds) {
    std::string_view reason = exit_reason_name(kind.reason);
    by_type_.labels({worker_id, kind.type, reason});
    master_by_type_.labels({worker_id, reason, kind.type});
  }
}

void RestartMetrics::worker_restarted(const ReapedWorker& worker) {
  std::string worker_id = std::to_string(worker.position);
  std::string_view reason = exit_reason_name(worker.reason);
  std::string_view type = restart_type(worker.status);
  by_reason_.labels({worker_id, reason}).inc();
  by_type_.labels({worker_id, type, reason}).inc();
  master_by_type_.labels({worker_id, reason, type}).inc();
}

}  // namespace prefork::master
