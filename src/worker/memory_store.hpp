// Values kept in the worker's own memory: what worker.metrics() writes to when metrics are
// off, so handler code declares its metrics the same way whether or not they are exported.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/value_store.hpp"

namespace prefork::worker {

class MemoryStore final : public metrics::ValueStore {
 public:
  explicit MemoryStore(std::string process) : process_(std::move(process)) {}

  double* cell(const metrics::ValueKind& kind, const std::string& key) override;
  std::vector<metrics::ProcessValues> snapshot() const override;

 private:
  struct Stored {
    metrics::ValueKind kind;
    std::map<std::string, std::unique_ptr<std::array<double, 2>>> cells;  // value, timestamp
  };

  std::string process_;
  mutable std::mutex mutex_;
  std::map<std::string, Stored> kinds_;  // by kind token
};

}  // namespace prefork::worker
