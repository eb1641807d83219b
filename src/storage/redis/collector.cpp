#include "storage/redis/collector.hpp"

#include <algorithm>

#include "metrics/exposition.hpp"

namespace prefork::storage {

std::vector<metrics::Family> RedisMultiProcessCollector::merge_from_redis(
    bool accumulate, std::vector<std::string>* errors) {
  std::vector<metrics::ProcessValues> values = dict_.snapshot();
  // Sets come back in no particular order; sorting gives a stable exposition. The dictionary
  // usually hands them over sorted already, and checking costs less than sorting.
  auto by_process_and_kind = [](const auto& left, const auto& right) {
    if (left.process != right.process) return left.process < right.process;
    return left.kind.token() < right.kind.token();
  };
  auto by_key = [](const auto& left, const auto& right) { return left.key < right.key; };
  if (!std::is_sorted(values.begin(), values.end(), by_process_and_kind)) {
    std::sort(values.begin(), values.end(), by_process_and_kind);
  }
  for (metrics::ProcessValues& group : values) {
    if (!std::is_sorted(group.values.begin(), group.values.end(), by_key)) {
      std::sort(group.values.begin(), group.values.end(), by_key);
    }
  }
  return metrics::aggregate(values, accumulate, errors);
}

std::string RedisMultiProcessCollector::render() {
  return metrics::render_text(collect());
}

}  // namespace prefork::storage
