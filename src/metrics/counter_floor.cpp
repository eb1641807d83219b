#include "metrics/counter_floor.hpp"

#include <algorithm>
#include <string_view>

namespace prefork::metrics {
namespace {

// Each part after its length: label values may hold any byte, NUL included.
void append_part(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

std::string series_key(const Sample& sample) {
  std::string key;
  append_part(key, sample.name);
  for (const auto& [name, value] : sample.labels) {
    append_part(key, name);
    append_part(key, value);
  }
  return key;
}

// The same samples, in the same order, as served last time: the steady state of a scrape.
bool same_series(const std::vector<Sample>& now, const std::vector<Sample>& before) {
  if (now.size() != before.size()) return false;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (now[i].name != before[i].name || now[i].labels != before[i].labels) return false;
  }
  return true;
}

}  // namespace

void CounterFloor::apply(std::vector<Family>& families) {
  std::vector<bool> present(families_.size());
  for (Family& family : families) {
    if (family.type == Type::gauge) continue;
    auto [entry, inserted] = index_.try_emplace(family.name, families_.size());
    if (inserted) {
      families_.emplace_back();
      present.push_back(false);
    }
    present[entry->second] = true;
    merge(family, families_[entry->second]);
  }
  for (std::size_t i = 0; i < families_.size(); ++i) {
    if (!present[i]) families.push_back(families_[i].family);
  }
}

// The samples of now in their order, each remembered one that is missing inserted after the
// remembered sample before it (or first); then the result is what is remembered. Without a
// change of series (every scrape but a few) only the values are compared, nothing is copied.
void CounterFloor::merge(Family& family, Remembered& remembered) {
  if (same_series(family.samples, remembered.family.samples)) {
    for (std::size_t i = 0; i < family.samples.size(); ++i) {
      double& value = family.samples[i].value;
      value = std::max(value, remembered.family.samples[i].value);
      remembered.family.samples[i].value = value;
    }
    return;
  }
  std::unordered_map<std::string, std::size_t> now;  // key → position in family.samples
  std::vector<std::string> keys;
  keys.reserve(family.samples.size());
  for (std::size_t i = 0; i < family.samples.size(); ++i) {
    keys.push_back(series_key(family.samples[i]));
    now.emplace(keys.back(), i);
  }
  // inserts[i + 1]: missing samples that go after family.samples[i]; inserts[0]: first.
  std::vector<std::vector<std::size_t>> inserts(family.samples.size() + 1);
  std::size_t after = 0;
  for (std::size_t r = 0; r < remembered.keys.size(); ++r) {
    const Sample& before = remembered.family.samples[r];
    if (auto found = now.find(remembered.keys[r]); found != now.end()) {
      Sample& sample = family.samples[found->second];
      sample.value = std::max(sample.value, before.value);
      after = found->second + 1;
    } else {
      inserts[after].push_back(r);
    }
  }
  Remembered merged{{family.name, family.help, family.type, {}}, {}};
  auto take_inserts = [&](std::size_t at) {
    for (std::size_t r : inserts[at]) {
      merged.family.samples.push_back(std::move(remembered.family.samples[r]));
      merged.keys.push_back(std::move(remembered.keys[r]));
    }
  };
  take_inserts(0);
  for (std::size_t i = 0; i < family.samples.size(); ++i) {
    merged.family.samples.push_back(family.samples[i]);
    merged.keys.push_back(std::move(keys[i]));
    take_inserts(i + 1);
  }
  family.samples = merged.family.samples;
  remembered = std::move(merged);
}

}  // namespace prefork::metrics
