// What changed in a ValueStore since the last look: what a flusher writes to Redis. Compares
// with a copy of the last values, so the hot path pays nothing for it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/value_store.hpp"

namespace prefork::metrics {

class ChangeTracker {
 public:
  // Values that are new or differ (bit for bit, so NaN and -0.0 count) from the previous call;
  // all of them on the first call. Absolute values: writing them twice is harmless.
  std::vector<ProcessValues> changes(const ValueStore& store);

  // Forgets what was seen, so the next changes() returns everything (e.g. after Redis lost
  // its data or came back).
  void reset() { last_.clear(); }

 private:
  std::unordered_map<std::string, std::pair<std::uint64_t, std::uint64_t>> last_;
};

}  // namespace prefork::metrics
