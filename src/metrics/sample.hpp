// The stored form of metric values, shared by every storage and the collectors: what a .db
// entry and a Redis hash hold, and which kind of metric (and gauge mode) they belong to.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prefork::metrics {

enum class Type { counter, gauge, histogram, summary };

// prometheus_client's multiprocess_mode of a gauge. "live" is accepted as liveall.
enum class GaugeMode {
  all,
  liveall,
  min,
  livemin,
  max,
  livemax,
  sum,
  livesum,
  mostrecent,
  livemostrecent
};

// The type part of a file name or Redis key: "counter", "histogram", "summary",
// "gauge_all", "gauge_livesum", …
struct ValueKind {
  Type type = Type::counter;
  GaugeMode mode = GaugeMode::all;  // gauges only

  std::string token() const;
  static bool parse(std::string_view token, ValueKind& kind);
  bool is_live_gauge() const;
  friend bool operator==(const ValueKind&, const ValueKind&) = default;
};

bool parse_gauge_mode(std::string_view name, GaugeMode& mode);
std::string_view gauge_mode_name(GaugeMode mode);

// One stored sample. key is the JSON key (ARCHITECTURE.md, "Metric model"):
// ["metric_name", "sample_name", {"label": "value"}, "help"].
struct StoredValue {
  std::string key;
  double value = 0;
  double timestamp = 0;  // seconds since the epoch; 0 = never set (mostrecent ignores it)
};

// Everything one process stored of one kind. process is the {pid} part of a Redis key:
// "12345", or "{instance}-12345" when metrics.instance is set.
struct ProcessValues {
  ValueKind kind;
  std::string process;
  std::vector<StoredValue> values;
};

}  // namespace prefork::metrics
