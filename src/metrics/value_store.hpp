// Where the metric values of one process live: the Registry writes through cells it gets here.
#pragma once

#include <string>
#include <vector>

#include "metrics/sample.hpp"

namespace prefork::metrics {

class ValueStore {
 public:
  virtual ~ValueStore() = default;

  // The value of key (a JSON key) of kind, followed in memory by its timestamp; created as
  // 0.0, 0.0 when new. The address stays valid for the store's life. Thread-safe.
  virtual double* cell(const ValueKind& kind, const std::string& key) = 0;

  // Every stored value, one entry per kind that has values; process is this store's own.
  virtual std::vector<ProcessValues> snapshot() const = 0;

  // In a forked child that must not keep them: closes the descriptors the store holds. Frees
  // nothing and takes no lock (another thread of the parent may have held it at fork).
  virtual void close_in_child() {}
};

}  // namespace prefork::metrics
