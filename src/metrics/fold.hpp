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

// Whether cleanup_dead_worker folds values of this kind into an archive (else: all gauges
// are kept as they are, live gauges are deleted).
bool is_archived(const ValueKind& kind);

}  // namespace prefork::metrics
