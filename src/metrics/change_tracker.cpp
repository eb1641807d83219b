#include "metrics/change_tracker.hpp"

#include <bit>

namespace prefork::metrics {

std::vector<ProcessValues> ChangeTracker::changes(const ValueStore& store) {
  std::vector<ProcessValues> changed;
  for (ProcessValues& group : store.snapshot()) {
    const std::string token = group.kind.token() + ' ';
    ProcessValues out{group.kind, group.process, {}};
    for (StoredValue& value : group.values) {
      const std::pair<std::uint64_t, std::uint64_t> bits{
          std::bit_cast<std::uint64_t>(value.value), std::bit_cast<std::uint64_t>(value.timestamp)};
      auto [seen, added] = last_.try_emplace(token + value.key, bits);
      if (!added && seen->second == bits) continue;
      seen->second = bits;
      out.values.push_back(std::move(value));
    }
    if (!out.values.empty()) changed.push_back(std::move(out));
  }
  return changed;
}

}  // namespace prefork::metrics
