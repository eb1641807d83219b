// The value reads of a snapshot, prepared once per membership of the process sets. Formatting
// thousands of HMGETs and looking up their JSON keys cost the master more than Redis spends
// answering them, and between scrapes the sets almost never change.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/sample.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {

// md5 -> JSON key (original_key of the meta hash, which never changes for an md5).
using OriginalKeys = std::unordered_map<std::string, std::string>;

struct PlannedGroup {
  metrics::ValueKind kind;
  std::size_t process;     // index into SnapshotPlan::processes()
  std::size_t values = 0;  // how many values are planned into it
};

struct PlannedValue {
  static constexpr std::size_t no_read = static_cast<std::size_t>(-1);

  std::size_t group;       // index into SnapshotPlan::groups()
  std::size_t value_read;  // index of the value's reply among the reads
  std::size_t meta_read;   // index of the original_key reply, or no_read when known
  bool with_timestamp;     // only mostrecent gauges use timestamps: others read one field
  const std::string* key;  // into OriginalKeys (its nodes never move); null until known
  std::string md5;
};

class SnapshotPlan {
 public:
  using Clock = std::chrono::steady_clock;
  // A process's set only grows while it lives and is deleted whole (or shrinks, at cleanup)
  // when it dies, so its size tells whether the plan still fits. Sizes cannot tell a set that
  // lost one member and gained another; comparing the members this often bounds that case.
  static constexpr std::chrono::seconds members_recheck{10};

  // True when the plan was built from these processes, their sets had these sizes, and the
  // members were compared less than members_recheck ago.
  bool fits(const std::vector<std::string>& processes, std::span<const Reply> sizes,
            Clock::time_point now) const;
  bool members_due(Clock::time_point now) const {
    return now - members_checked_ >= members_recheck;
  }

  // True when the plan was built from exactly these processes and set members (in the order
  // Redis listed them: an unchanged set lists its members in the same order). Marks the
  // members checked when they are the same.
  bool matches(const std::vector<std::string>& processes, std::span<const Reply> sets,
               Clock::time_point now);

  // sets[i] is the SMEMBERS reply of processes[i]. Values whose JSON key is not in known get
  // an original_key read too; keys of known that the plan does not use are dropped.
  void build(const RedisKeys& layout, std::vector<std::string> processes,
             std::span<const Reply> sets, OriginalKeys& known, Clock::time_point now);

  // A plan that reads meta hashes is used once: the next snapshot builds one without them.
  bool reads_meta() const { return reads_meta_; }
  void discard() { *this = SnapshotPlan(); }

  const std::vector<std::string>& processes() const { return processes_; }
  const std::vector<PlannedGroup>& groups() const { return groups_; }
  std::vector<PlannedValue>& values() { return values_; }

  // Every read as RESP, ready for the connection, and how many replies it gets.
  const std::string& reads() const { return reads_; }
  std::size_t read_count() const { return read_count_; }

 private:
  void plan_member(const RedisKeys& layout, std::size_t process, std::string_view member,
                   const OriginalKeys& known);
  std::size_t group_of(metrics::ValueKind kind, std::size_t process);
  void sort_values();
  void forget_unplanned(OriginalKeys& known) const;

  bool built_ = false;
  std::vector<std::string> processes_;
  std::vector<std::size_t> member_counts_;  // per process
  std::vector<std::string> members_;        // of every process, in order
  std::vector<PlannedGroup> groups_;
  std::vector<PlannedValue> values_;
  std::string reads_;
  std::size_t read_count_ = 0;
  bool reads_meta_ = false;
  Clock::time_point members_checked_{};
};

}  // namespace prefork::storage
