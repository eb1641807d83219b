#include "storage/redis/collector.hpp"

#include <algorithm>

#include "metrics/exposition.hpp"

namespace prefork::storage {

std::vector<metrics::Family> RedisMultiProcessCollector::merge_from_redis(
    bool accumulate, std::vector<std::string>* errors) {
  std::vector<metrics::ProcessValues> values = dict_.snapshot();
  // Sets come back in no particular order; sorting gives a stable exposition.
  std::sort(values.begin(), values.end(), [](const auto& left, const auto& right) {
    if (left.process != right.process) return left.process < right.process;
    return left.kind.token() < right.kind.token();
  });
  for (metrics::ProcessValues& group : values) {
    std::sort(group.values.begin(), group.values.end(),
              [](const auto& left, const auto& right) { return left.key < right.key; });
  }
  return metrics::aggregate(values, accumulate, errors);
}

std::string RedisMultiProcessCollector::render() {
  return metrics::render_text(collect());
}

}  // namespace prefork::storage
