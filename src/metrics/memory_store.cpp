#include "metrics/memory_store.hpp"

#include <prefork/metrics.hpp>

namespace prefork::metrics {

double* MemoryStore::cell(const ValueKind& kind, const std::string& key) {
  std::lock_guard lock(mutex_);
  Stored& stored = kinds_[kind.token()];
  stored.kind = kind;
  auto& cell = stored.cells[key];
  if (!cell) cell = std::make_unique<std::array<double, 2>>(std::array<double, 2>{0.0, 0.0});
  return cell->data();
}

std::vector<ProcessValues> MemoryStore::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<ProcessValues> values;
  for (const auto& [token, stored] : kinds_) {
    ProcessValues group{stored.kind, process_, {}};
    for (const auto& [key, cell] : stored.cells) {
      group.values.push_back({key, detail::load(cell->data()), detail::load(cell->data() + 1)});
    }
    values.push_back(std::move(group));
  }
  return values;
}

}  // namespace prefork::metrics
