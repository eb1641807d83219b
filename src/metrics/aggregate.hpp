// Merging the stored values of many processes into metric families, with prometheus_client's
// multiprocess semantics (ARCHITECTURE.md). Used by the file collector and the Redis collector.
#pragma once

#include <string>
#include <vector>

#include "metrics/json_key.hpp"
#include "metrics/key_cache.hpp"
#include "metrics/sample.hpp"

namespace prefork::metrics {

struct Sample {
  std::string name;  // full sample name: "requests_total", "latency_bucket", …
  Labels labels;     // sorted by name
  double value = 0;
};

struct Family {
  std::string name;  // counters without "_total", as prometheus_client names them
  std::string help;
  Type type = Type::counter;
  std::vector<Sample> samples;
};

// Families come out in the order their first value appears in the input, and the samples of
// each family grouped by label set in the same way, as prometheus_client's
// MultiProcessCollector.merge() does; give the input in a stable order for a stable output.
// Counters, summaries, histogram sums and buckets are summed; buckets are merged by numeric
// le, made cumulative and followed by _count. Gauges follow their mode: all/liveall keep one
// series per process with a "pid" label (the process string); min/max keep the first value
// unless another is strictly smaller/larger; sum adds; mostrecent keeps the value with the
// strictly largest timestamp (none when never set). With accumulate = false, buckets are
// left as stored (not cumulative) and no _count is added: what prometheus_client's
// merge(accumulate=False) returns, for writing merged values back to storage.
// Keys that are not valid JSON keys are skipped and described in errors (if given).
std::vector<Family> aggregate(const std::vector<ProcessValues>& input, bool accumulate = true,
                              std::vector<std::string>* errors = nullptr);
// The same with keys parsed once for many aggregations (a collector's own cache); the caller
// calls keys.drop_unused() after each scrape.
std::vector<Family> aggregate(const std::vector<ProcessValues>& input, KeyCache& keys,
                              bool accumulate = true, std::vector<std::string>* errors = nullptr);

}  // namespace prefork::metrics
