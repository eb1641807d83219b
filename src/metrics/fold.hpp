// Folding a dead process's value into an archive value so that the aggregate over
// processes is unchanged (used by cleanup_dead_worker of every storage).
#pragma once

#include "metrics/sample.hpp"

namespace prefork::metrics {

// archive is the archived value of the same key and kind; archive_exists is false when the
// archive has no value for the key yet. Counters, summaries, histograms and sum gauges add;
// min/max gauges keep the smaller/larger (the archive wins ties, as the first value does in
// the aggregation); mostrecent gauges keep the later timestamp. Never called for all/liveall
// gauges (their series carry the pid) nor for live gauges (they are deleted).
void fold_into(const ValueKind& kind, StoredValue& archive, bool archive_exists,
               const StoredValue& dead);

// The one rule by which two values of one gauge series combine, in the aggregation over
// processes and when a dead process is folded into the archive (prometheus_client's
// multiprocess modes): min/max keep the smaller/larger value and mostrecent the strictly later
// timestamp (the value already there wins ties, as the first one seen does), sum adds, all
// replaces (its series carry the pid, so a series only meets a rewrite of itself).
void merge_gauge(GaugeMode mode, double& value, double& timestamp, double other,
                 double other_timestamp);

// Whether cleanup_dead_worker folds values of this kind into an archive (else: all gauges
// are kept as they are, live gauges are deleted).
bool is_archived(const ValueKind& kind);

}  // namespace prefork::metrics
