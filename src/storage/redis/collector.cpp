#include "storage/redis/collector.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "metrics/exposition.hpp"

namespace prefork::storage {
namespace {

// Sets come back in no particular order; sorting gives a stable exposition. The dictionary
// usually hands them over sorted already, and checking costs less than sorting.
void sort_stably(std::vector<metrics::ProcessValues>& values) {
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
}

// Sets (or replaces) the instance label of every sample; labels stay sorted by name.
void label_instance(std::vector<metrics::Family>& families, std::string_view instance) {
  for (metrics::Family& family : families) {
    for (metrics::Sample& sample : family.samples) {
      metrics::Labels& labels = sample.labels;
      auto at = std::lower_bound(
          labels.begin(), labels.end(), std::string_view("instance"),
          [](const auto& label, std::string_view name) { return label.first < name; });
      if (at != labels.end() && at->first == "instance") {
        at->second = instance;
      } else {
        labels.insert(at, {"instance", std::string(instance)});
      }
    }
  }
}

// Families of the same name from several instances become one, in first-seen order.
void append_families(std::vector<metrics::Family>& into, std::vector<metrics::Family> more) {
  for (metrics::Family& family : more) {
    auto same = std::find_if(into.begin(), into.end(),
                             [&](const metrics::Family& f) { return f.name == family.name; });
    if (same == into.end()) {
      into.push_back(std::move(family));
    } else {
      std::move(family.samples.begin(), family.samples.end(), std::back_inserter(same->samples));
    }
  }
}

}  // namespace

Scope scope_named(const std::string& name) {
  return name == "fleet" ? Scope::fleet : Scope::instance;
}

std::vector<metrics::ProcessValues> RedisMultiProcessCollector::read_sorted() {
  std::vector<metrics::ProcessValues> values;
  if (fleet_) {
    values = fleet_->snapshot();
  } else if (scope_ == Scope::fleet) {
    values = dict_.snapshot();
  } else {
    values = dict_.snapshot([this](std::string_view process) {
      return process == dict_.archive() || pid_of_process(dict_.instance(), process) >= 0;
    });
  }
  sort_stably(values);
  return values;
}

std::vector<metrics::Family> RedisMultiProcessCollector::merge_from_redis(
    bool accumulate, std::vector<std::string>* errors) {
  std::vector<metrics::ProcessValues> values = read_sorted();
  std::vector<metrics::Family> families;
  if (scope_ == Scope::instance) {
    families = metrics::aggregate(values, keys_, accumulate, errors);
  } else {
    // Each instance merged on its own, so that no two hosts' series become one.
    std::map<std::string, std::vector<metrics::ProcessValues>> by_instance;
    for (metrics::ProcessValues& group : values) {
      std::string instance(instance_of_process(group.process));
      by_instance[instance].push_back(std::move(group));
    }
    for (auto& [instance, groups] : by_instance) {
      std::vector<metrics::Family> merged = metrics::aggregate(groups, keys_, accumulate, errors);
      if (!instance.empty()) label_instance(merged, instance_name(instance));
      append_families(families, std::move(merged));
    }
  }
  keys_.drop_unused();
  return families;
}

std::string RedisMultiProcessCollector::render() {
  return metrics::render_text(collect());
}

}  // namespace prefork::storage
