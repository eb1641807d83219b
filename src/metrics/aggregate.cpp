#include "metrics/aggregate.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "metrics/float_text.hpp"
#include "metrics/fold.hpp"

namespace prefork::metrics {
namespace {

struct RawSample {
  const ParsedKey* key;
  const std::string* process;
  double value;
  double timestamp;
};

struct RawFamily {
  std::string name;
  std::string help;
  Type type;
  GaugeMode mode;  // of the last input that held this family, as prometheus_client does
  std::vector<RawSample> samples;
};

// The samples of one label set, in the order they were first seen.
struct Group {
  Labels labels;
  std::vector<Sample> samples;
  std::vector<double> timestamps;  // parallel to samples (gauges: merge_gauge)

  Sample* find(const std::string& name) {
    for (auto& sample : samples) {
      if (sample.name == name) return &sample;
    }
    return nullptr;
  }

  Sample& add(const std::string& name, Labels sample_labels, double value) {
    samples.push_back(Sample{name, std::move(sample_labels), value});
    timestamps.push_back(0);
    return samples.back();
  }
};

struct BucketSet {
  Labels labels;                    // without le
  std::map<double, double> counts;  // by upper bound
};

struct LabelsHash {
  std::size_t operator()(const Labels& labels) const {
    std::size_t hash = labels.size();
    for (const auto& [name, value] : labels) {
      hash = hash * 31 + std::hash<std::string>()(name);
      hash = hash * 31 + std::hash<std::string>()(value);
    }
    return hash;
  }
};

using LabelsIndex = std::unordered_map<Labels, std::size_t, LabelsHash>;

class FamilyMerger {
 public:
  FamilyMerger(const RawFamily& raw, bool accumulate) : raw_(raw), accumulate_(accumulate) {}

  Family merge() {
    for (const RawSample& sample : raw_.samples) add(sample);
    if (raw_.type == Type::histogram) close_buckets();
    Family family{raw_.name, raw_.help, raw_.type, {}};
    for (Group& group : groups_) {
      for (Sample& sample : group.samples) family.samples.push_back(std::move(sample));
    }
    return family;
  }

 private:
  bool per_process() const {
    return raw_.mode == GaugeMode::all || raw_.mode == GaugeMode::liveall;
  }

  Group& group(const Labels& labels) {
    auto [found, inserted] = group_index_.try_emplace(labels, groups_.size());
    if (inserted) groups_.push_back(Group{labels, {}, {}});
    return groups_[found->second];
  }

  // The labels with the process as "pid" (replacing a stored one), or without a stored pid.
  static Labels gauge_labels(const Labels& labels, const std::string* process) {
    Labels result;
    for (const auto& label : labels) {
      if (label.first != "pid") result.push_back(label);
    }
    if (process) {
      auto position = std::lower_bound(
          result.begin(), result.end(), std::string("pid"),
          [](const auto& label, const std::string& name) { return label.first < name; });
      result.insert(position, {"pid", *process});
    }
    return result;
  }

  static bool has_pid(const Labels& labels) {
    return std::any_of(labels.begin(), labels.end(),
                       [](const auto& label) { return label.first == "pid"; });
  }

  void add(const RawSample& raw) {
    switch (raw_.type) {
      case Type::gauge:
        add_gauge(raw);
        return;
      case Type::histogram:
        add_histogram(raw);
        return;
      case Type::counter:
      case Type::summary:
        add_sum(group(raw.key->parts.labels), raw);
        return;
    }
  }

  void add_sum(Group& target, const RawSample& raw) {
    if (Sample* existing = target.find(raw.key->parts.sample_name)) {
      existing->value += raw.value;
    } else {
      target.add(raw.key->parts.sample_name, target.labels, 0.0 + raw.value);
    }
  }

  void add_gauge(const RawSample& raw) {
    const Labels& stored = raw.key->parts.labels;
    Group& target = per_process() || has_pid(stored)
                        ? group(gauge_labels(stored, per_process() ? raw.process : nullptr))
                        : group(stored);
    const std::string& name = raw.key->parts.sample_name;
    if (Sample* existing = target.find(name)) {
      const std::size_t index = std::size_t(existing - target.samples.data());
      merge_gauge(raw_.mode, existing->value, target.timestamps[index], raw.value, raw.timestamp);
      return;
    }
    bool most_recent = raw_.mode == GaugeMode::mostrecent || raw_.mode == GaugeMode::livemostrecent;
    // A mostrecent gauge never set (timestamp 0) loses to everything and never shows.
    if (most_recent && !(0.0 < raw.timestamp)) return;
    bool sum = raw_.mode == GaugeMode::sum || raw_.mode == GaugeMode::livesum;
    target.add(name, target.labels, sum ? 0.0 + raw.value : raw.value);
    target.timestamps.back() = raw.timestamp;
  }

  void add_histogram(const RawSample& raw) {
    const ParsedKey& key = *raw.key;
    if (!key.is_bucket) {
      add_sum(group(key.parts.labels), raw);
      return;
    }
    auto [found, inserted] = bucket_index_.try_emplace(key.without_le, bucket_sets_.size());
    if (inserted) bucket_sets_.push_back(BucketSet{key.without_le, {}});
    bucket_sets_[found->second].counts[key.bound] += raw.value;
  }

  void close_buckets() {
    const std::string bucket_name = raw_.name + "_bucket";
    const std::string count_name = raw_.name + "_count";
    for (const BucketSet& set : bucket_sets_) {
      Group& target = group(set.labels);
      double cumulative = 0.0;
      for (const auto& [bound, count] : set.counts) {
        Labels labels = set.labels;
        auto position = std::lower_bound(
            labels.begin(), labels.end(), std::string("le"),
            [](const auto& label, const std::string& name) { return label.first < name; });
        labels.insert(position, {"le", float_to_go_string(bound)});
        cumulative += count;
        target.add(bucket_name, std::move(labels), accumulate_ ? cumulative : count);
      }
      if (!accumulate_) continue;
      if (Sample* existing = target.find(count_name)) {
        existing->value = cumulative;
      } else {
        target.add(count_name, target.labels, cumulative);
      }
    }
  }

  const RawFamily& raw_;
  bool accumulate_;
  std::vector<Group> groups_;
  LabelsIndex group_index_;
  std::vector<BucketSet> bucket_sets_;
  LabelsIndex bucket_index_;
};

}  // namespace

std::vector<Family> aggregate(const std::vector<ProcessValues>& input, bool accumulate,
                              std::vector<std::string>* errors) {
  KeyCache keys;
  return aggregate(input, keys, accumulate, errors);
}

std::vector<Family> aggregate(const std::vector<ProcessValues>& input, KeyCache& keys,
                              bool accumulate, std::vector<std::string>* errors) {
  std::unordered_map<std::string, std::size_t> family_index;
  std::vector<RawFamily> raw_families;
  std::string error;

  for (const ProcessValues& process : input) {
    for (const StoredValue& stored : process.values) {
      const ParsedKey* parsed = keys.find(stored.key, process.kind.type, error);
      if (!parsed) {
        if (errors) errors->push_back(process.kind.token() + "_" + process.process + ": " + error);
        continue;
      }
      const KeyParts& key = parsed->parts;
      auto [found, added] = family_index.try_emplace(key.metric_name, raw_families.size());
      if (added) {
        raw_families.push_back(
            RawFamily{key.metric_name, key.help, process.kind.type, process.kind.mode, {}});
      }
      RawFamily& family = raw_families[found->second];
      if (process.kind.type == Type::gauge) family.mode = process.kind.mode;
      family.samples.push_back(RawSample{parsed, &process.process, stored.value, stored.timestamp});
    }
  }

  std::vector<Family> families;
  families.reserve(raw_families.size());
  for (const RawFamily& raw : raw_families) {
    families.push_back(FamilyMerger(raw, accumulate).merge());
  }
  return families;
}

}  // namespace prefork::metrics
