#include "metrics/fold.hpp"

namespace prefork::metrics {

bool is_archived(const ValueKind& kind) {
  if (kind.type != Type::gauge) return true;
  return kind.mode == GaugeMode::min || kind.mode == GaugeMode::max ||
         kind.mode == GaugeMode::sum || kind.mode == GaugeMode::mostrecent;
}

void fold_into(const ValueKind& kind, StoredValue& archive, bool archive_exists,
               const StoredValue& dead) {
  if (!archive_exists) {
    archive.value = dead.value;
    archive.timestamp = dead.timestamp;
    return;
  }
  if (kind.type != Type::gauge) {
    archive.value += dead.value;
    return;
  }
  merge_gauge(kind.mode, archive.value, archive.timestamp, dead.value, dead.timestamp);
}

void merge_gauge(GaugeMode mode, double& value, double& timestamp, double other,
                 double other_timestamp) {
  switch (mode) {
    case GaugeMode::min:
    case GaugeMode::livemin:
      if (other < value) value = other;
      return;
    case GaugeMode::max:
    case GaugeMode::livemax:
      if (other > value) value = other;
      return;
    case GaugeMode::mostrecent:
    case GaugeMode::livemostrecent:
      if (other_timestamp > timestamp) {
        value = other;
        timestamp = other_timestamp;
      }
      return;
    case GaugeMode::sum:
    case GaugeMode::livesum:
      value += other;
      return;
    case GaugeMode::all:
    case GaugeMode::liveall:
      value = other;
      return;
  }
}

}  // namespace prefork::metrics
