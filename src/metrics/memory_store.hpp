// Values kept in the process's own memory: what worker.metrics() writes to when metrics are
// off, so handler code declares its metrics the same way whether or not they are exported, and
// a program's metrics with the public Redis storage (include/prefork/redis_storage.hpp), which
// writes them to Redis when it flushes.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/value_store.hpp"

namespace prefork::metrics {

class MemoryStore final : public ValueStore {
 public:
  explicit MemoryStore(std::string process) : process_(std::move(process)) {}

  double* cell(const ValueKind& kind, const std::string& key) override;
  std::vector<ProcessValues> snapshot() const override;

 private:
  struct Stored {
    ValueKind kind;
    std::map<std::string, std::unique_ptr<std::array<double, 2>>> cells;  // value, timestamp
  };

  std::string process_;
  mutable std::mutex mutex_;
  std::map<std::string, Stored> kinds_;  // by kind token
};

}  // namespace prefork::metrics
