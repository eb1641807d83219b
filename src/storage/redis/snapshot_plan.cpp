#include "storage/redis/snapshot_plan.hpp"

#include "storage/redis/sync_connection.hpp"

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

bool SnapshotPlan::matches(const std::vector<std::string>& processes,
                           std::span<const Reply> sets) const {
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
  return true;
}

void SnapshotPlan::build(const RedisKeys& layout, std::vector<std::string> processes,
                         std::span<const Reply> sets, const OriginalKeys& known) {
  discard();
  built_ = true;
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
    if (groups_[i - 1].kind == kind) return i - 1;
  }
  groups_.push_back({kind, process});
  return groups_.size() - 1;
}

}  // namespace prefork::storage
