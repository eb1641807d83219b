#include "storage/redis/snapshot_plan.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "storage/redis/protocol.hpp"

namespace prefork::storage {
namespace {

std::size_t member_count(const redisReply* set) {
  return set != nullptr && set->type == REDIS_REPLY_ARRAY ? set->elements : 0;
}

bool uses_timestamp(const metrics::ValueKind& kind) {
  return kind.type == metrics::Type::gauge && (kind.mode == metrics::GaugeMode::mostrecent ||
                                               kind.mode == metrics::GaugeMode::livemostrecent);
}

}  // namespace

bool SnapshotPlan::fits(const std::vector<std::string>& processes, std::span<const Reply> sizes,
                        Clock::time_point now) const {
  if (!built_ || members_due(now) || processes != processes_) return false;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const redisReply* size = sizes[i].get();
    if (size == nullptr || size->type != REDIS_REPLY_INTEGER ||
        static_cast<std::size_t>(size->integer) != member_counts_[i]) {
      return false;
    }
  }
  return true;
}

bool SnapshotPlan::matches(const std::vector<std::string>& processes, std::span<const Reply> sets,
                           Clock::time_point now) {
  if (!built_ || processes != processes_) return false;
  std::size_t next = 0;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const redisReply* set = sets[i].get();
    std::size_t count = member_count(set);
    if (count != member_counts_[i]) return false;
    for (std::size_t j = 0; j < count; ++j) {
      if (reply_text(set->element[j]) != members_[next++]) return false;
    }
  }
  members_checked_ = now;
  return true;
}

void SnapshotPlan::build(const RedisKeys& layout, std::vector<std::string> processes,
                         std::span<const Reply> sets, OriginalKeys& known, Clock::time_point now) {
  discard();
  built_ = true;
  members_checked_ = now;
  processes_ = std::move(processes);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const redisReply* set = sets[i].get();
    std::size_t count = member_count(set);
    member_counts_.push_back(count);
    for (std::size_t j = 0; j < count; ++j) {
      std::string_view member = reply_text(set->element[j]);
      members_.emplace_back(member);
      plan_member(layout, i, member, known);
    }
  }
  if (!reads_meta_) sort_values();
  forget_unplanned(known);
}

// The keys of series no longer stored (a dead worker's pid-labelled gauges, say) would pile up
// over restarts; the plan's own keep their nodes, so its pointers stay valid.
void SnapshotPlan::forget_unplanned(OriginalKeys& known) const {
  std::unordered_set<std::string_view> planned;
  for (const PlannedValue& value : values_) planned.insert(value.md5);
  std::erase_if(known, [&](const auto& entry) { return !planned.contains(entry.first); });
}

// The collector sorts by process, kind and JSON key for a stable exposition; planned in that
// order, the values come out sorted and the collector's check finds nothing to do.
void SnapshotPlan::sort_values() {
  std::vector<std::string> tokens;
  for (const PlannedGroup& group : groups_) tokens.push_back(group.kind.token());
  auto order = [&](const PlannedValue& value) {
    return std::tie(processes_[groups_[value.group].process], tokens[value.group], *value.key);
  };
  std::sort(values_.begin(), values_.end(),
            [&](const PlannedValue& left, const PlannedValue& right) {
              return order(left) < order(right);
            });
  std::vector<PlannedGroup> sorted;
  std::vector<std::size_t> renumbered(groups_.size(), PlannedValue::no_read);
  for (PlannedValue& value : values_) {
    if (renumbered[value.group] == PlannedValue::no_read) {
      renumbered[value.group] = sorted.size();
      sorted.push_back(groups_[value.group]);
    }
    value.group = renumbered[value.group];
  }
  groups_ = std::move(sorted);
}

void SnapshotPlan::plan_member(const RedisKeys& layout, std::size_t process,
                               std::string_view member, const OriginalKeys& known) {
  std::string_view token, md5;
  metrics::ValueKind kind;
  // Not ours to understand (another version's kind, a stray member): nothing to read.
  if (!RedisKeys::split_series(member, token, md5) || !metrics::ValueKind::parse(token, kind)) {
    return;
  }
  const std::string& name = processes_[process];
  PlannedValue value{group_of(kind, process), read_count_++, PlannedValue::no_read,
                     uses_timestamp(kind),    nullptr,       std::string(md5)};
  if (value.with_timestamp) {
    append_command(reads_, {"HMGET", layout.metric(token, name, md5), "value", "timestamp"});
  } else {
    append_command(reads_, {"HGET", layout.metric(token, name, md5), "value"});
  }
  if (auto found = known.find(value.md5); found != known.end()) {
    value.key = &found->second;
  } else {
    value.meta_read = read_count_++;
    reads_meta_ = true;
    append_command(reads_, {"HGET", layout.meta(token, name, md5), "original_key"});
  }
  values_.push_back(std::move(value));
}

// Members of one process are planned together, so its groups are the last ones.
std::size_t SnapshotPlan::group_of(metrics::ValueKind kind, std::size_t process) {
  for (std::size_t i = groups_.size(); i > 0 && groups_[i - 1].process == process; --i) {
    if (groups_[i - 1].kind == kind) {
      ++groups_[i - 1].values;
      return i - 1;
    }
  }
  groups_.push_back({kind, process, 1});
  return groups_.size() - 1;
}

}  // namespace prefork::storage
