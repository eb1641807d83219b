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
  switch (kind.mode) {
    case GaugeMode::min:
    case GaugeMode::livemin:
      if (dead.value < archive.value) archive.value = dead.value;
      break;
    case GaugeMode::max:
    case GaugeMode::livemax:
      if (dead.value > archive.value) archive.value = dead.value;
      break;
    case GaugeMode::mostrecent:
    case GaugeMode::livemostrecent:
      if (dead.timestamp > archive.timestamp) {
        archive.value = dead.value;
        archive.timestamp = dead.timestamp;
      }
      break;
    default:
      archive.value += dead.value;
      break;
  }
}

}  // namespace prefork::metrics
