// RedisStorageDict's archive: cleanup_dead_workers folds dead processes into their instance's
// archive; the dictionary's copy of it is loaded at start and written back after Redis lost it.
#include <map>
#include <string>
#include <vector>

#include "metrics/fold.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/reply.hpp"
#include "storage/redis/storage_dict.hpp"
#include "storage/redis/write_commands.hpp"

namespace prefork::storage {
namespace {

constexpr int cleanup_attempts = 10;

struct DeadSeries {
  std::string member;  // "{kind}:{md5}"
  std::string kind_token;
  std::string md5;
  metrics::ValueKind kind;
  std::size_t read = 0;  // where its value and original key are among the replies
};

// One archive series and what the dead processes add to it.
struct ArchiveSeries {
  metrics::ValueKind kind;
  ArchivedSeries series;
  std::size_t read = 0;  // where the archive's value is among the replies
  bool exists = false;
  bool folded = false;
};

std::vector<DeadSeries> parse_members(const redisReply* reply) {
  std::vector<DeadSeries> out;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    DeadSeries series;
    series.member = std::string(reply_text(reply->element[i]));
    std::string_view kind, md5;
    if (!RedisKeys::split_series(series.member, kind, md5)) continue;
    series.kind_token = std::string(kind);
    series.md5 = std::string(md5);
    // A kind this build does not know is kept untouched rather than guessed at.
    if (!metrics::ValueKind::parse(kind, series.kind)) continue;
    out.push_back(std::move(series));
  }
  return out;
}

bool is_kept(const metrics::ValueKind& kind) {
  return kind.type == metrics::Type::gauge && !kind.is_live_gauge() && !metrics::is_archived(kind);
}

// The archive's value as Redis has it (when in_redis) and as this master's copy has it. Every
// writer only adds to what it read, so of two sums the larger lost nothing (sum gauges are
// taken as such too); min, max and mostrecent gauges combine by their own mode.
void reconcile_archived(const metrics::ValueKind& kind, metrics::StoredValue& stored, bool in_redis,
                        const metrics::StoredValue& copy) {
  if (!in_redis) {
    stored = copy;
    return;
  }
  bool sums = kind.type != metrics::Type::gauge || kind.mode == metrics::GaugeMode::sum;
  if (sums) {
    if (copy.value > stored.value) stored = copy;
    return;
  }
  metrics::merge_gauge(kind.mode, stored.value, stored.timestamp, copy.value, copy.timestamp);
}

struct Writing {
  const RedisKeys& layout;
  std::string archive;
  int ttl;
  std::string now;
};

void append_archive_write(const Writing& writing, const std::string& member,
                          const ArchivedSeries& series, std::vector<Command>& transaction) {
  std::string metric = writing.layout.metric(series.kind_token, writing.archive, series.md5);
  std::string meta = writing.layout.meta(series.kind_token, writing.archive, series.md5);
  transaction.push_back({"HSET", metric, "value", format_double(series.value.value), "timestamp",
                         format_double(series.value.timestamp), "updated_at", writing.now});
  transaction.push_back(expiry(metric, writing.ttl));
  transaction.push_back({"HSET", meta, "original_key", series.original_key});
  transaction.push_back({"HSETNX", meta, "created_at", writing.now});
  transaction.push_back(expiry(meta, writing.ttl));
  transaction.push_back({"SADD", writing.layout.process(writing.archive), member});
}

// The archive's set and its place in the index.
void append_archive_index(const Writing& writing, std::vector<Command>& transaction) {
  transaction.push_back(expiry(writing.layout.process(writing.archive), writing.ttl));
  transaction.push_back({"SADD", writing.layout.processes(), writing.archive});
  transaction.push_back(expiry(writing.layout.processes(), writing.ttl));
}

void throw_if_refused(const redisReply* exec, const char* doing) {
  if (reply_is_error(exec))
    throw RedisError(std::string(doing) + ": " + std::string(reply_text(exec)));
}

// Everything of the process but its "all" gauges; the process itself when nothing is kept.
void append_process_deletes(const Writing& writing, const std::string& process,
                            const std::vector<DeadSeries>& members, CleanupResult& result,
                            std::vector<Command>& transaction) {
  std::size_t kept = 0;
  for (const DeadSeries& series : members) {
    if (is_kept(series.kind)) {
      ++kept;
      continue;
    }
    transaction.push_back({"DEL", writing.layout.metric(series.kind_token, process, series.md5),
                           writing.layout.meta(series.kind_token, process, series.md5)});
    transaction.push_back({"SREM", writing.layout.process(process), series.member});
    ++result.deleted;
  }
  result.kept += kept;
  if (kept > 0) return;
  transaction.push_back({"DEL", writing.layout.process(process)});
  transaction.push_back({"SREM", writing.layout.processes(), process});
}

}  // namespace

CleanupResult RedisStorageDict::cleanup_dead_worker(long pid) {
  return cleanup_dead_workers({process_name(instance_, pid)});
}

CleanupResult RedisStorageDict::cleanup_dead_worker(std::string_view process) {
  return cleanup_dead_workers({std::string(process)});
}

CleanupResult RedisStorageDict::cleanup_dead_workers(std::vector<std::string> processes) {
  std::erase(processes, archive());
  if (processes.empty()) return {};
  registered_.clear();  // deleted keys are written whole again
  for (int attempt = 0; attempt < cleanup_attempts; ++attempt) {
    if (std::optional<CleanupResult> result = try_cleanup(processes)) return *result;
  }
  throw RedisError("cleanup of " + std::to_string(processes.size()) +
                   " processes kept conflicting with concurrent writes");
}

// Three round trips whatever the number of processes: their sets, then (watched) every value
// to fold and the archive's, then the MULTI/EXEC that writes the archive once per series and
// deletes the processes. nullopt when a watched key changed (EXEC aborted).
std::optional<CleanupResult> RedisStorageDict::try_cleanup(
    const std::vector<std::string>& processes) {
  const std::string archive_name = archive();
  std::vector<Command> first = {{"WATCH"}};
  for (const std::string& process : processes) {
    first.front().push_back(layout_.process(process));
    first.push_back({"SMEMBERS", layout_.process(process)});
  }
  std::vector<Reply> sets = client_.pipeline(first);
  std::vector<std::vector<DeadSeries>> members;
  for (std::size_t i = 0; i < processes.size(); ++i) {
    members.push_back(parse_members(sets[i + 1].get()));
  }

  // Reads: each dead value with its original key, then each archive value once.
  Command watch = {"WATCH"};
  std::vector<Command> reads;
  std::map<std::string, ArchiveSeries> archived;  // by member
  for (std::size_t p = 0; p < processes.size(); ++p) {
    for (DeadSeries& series : members[p]) {
      if (!metrics::is_archived(series.kind)) continue;
      std::string metric = layout_.metric(series.kind_token, processes[p], series.md5);
      watch.push_back(metric);
      series.read = reads.size();
      reads.push_back({"HMGET", metric, "value", "timestamp"});
      reads.push_back(
          {"HGET", layout_.meta(series.kind_token, processes[p], series.md5), "original_key"});
      archived[series.member].kind = series.kind;
      ArchivedSeries& target = archived[series.member].series;
      target.kind_token = series.kind_token;
      target.md5 = series.md5;
    }
  }
  for (auto& [member, target] : archived) {
    std::string metric = layout_.metric(target.series.kind_token, archive_name, target.series.md5);
    watch.push_back(metric);
    watch.push_back(layout_.meta(target.series.kind_token, archive_name, target.series.md5));
    target.read = reads.size();
    reads.push_back({"HMGET", metric, "value", "timestamp"});
  }
  std::size_t offset = 0;
  if (watch.size() > 1) {
    reads.insert(reads.begin(), watch);
    offset = 1;
  }
  std::vector<Reply> replies = client_.pipeline(reads);
  for (auto& [member, target] : archived) {
    target.exists = read_stored_value(replies[offset + target.read].get(), target.series.value);
    if (auto kept = archive_copy_.find(member); kept != archive_copy_.end()) {
      reconcile_archived(target.kind, target.series.value, target.exists, kept->second.value);
      target.exists = true;
    }
  }

  CleanupResult result;
  std::vector<Command> transaction = {{"MULTI"}};
  for (std::size_t p = 0; p < processes.size(); ++p) {
    for (const DeadSeries& series : members[p]) {
      if (!metrics::is_archived(series.kind)) continue;
      metrics::StoredValue dead;
      const redisReply* original = replies[offset + series.read + 1].get();
      if (!read_stored_value(replies[offset + series.read].get(), dead) || original == nullptr ||
          original->type != REDIS_REPLY_STRING) {
        continue;
      }
      ArchiveSeries& target = archived.at(series.member);
      metrics::fold_into(series.kind, target.series.value, target.exists, dead);
      target.exists = true;
      target.folded = true;
      target.series.original_key = std::string(reply_text(original));
      ++result.folded;
    }
  }
  Writing writing{layout_, archive_name, ttl_seconds_, format_double(now())};
  for (const auto& [member, target] : archived) {
    if (target.folded) append_archive_write(writing, member, target.series, transaction);
  }
  for (std::size_t p = 0; p < processes.size(); ++p) {
    append_process_deletes(writing, processes[p], members[p], result, transaction);
  }
  if (result.folded > 0) append_archive_index(writing, transaction);
  transaction.push_back({"EXEC"});

  std::vector<Reply> outcome = client_.pipeline(transaction);
  const redisReply* exec = outcome.back().get();
  if (exec != nullptr && exec->type == REDIS_REPLY_NIL) return std::nullopt;
  throw_if_refused(exec, "cleanup of dead processes failed");
  for (auto& [member, target] : archived) {
    if (target.folded) archive_copy_[member] = std::move(target.series);
  }
  return result;
}

std::size_t RedisStorageDict::load_archive() {
  for (const metrics::ProcessValues& group : items(archive())) {
    const std::string kind_token = group.kind.token();
    for (const metrics::StoredValue& stored : group.values) {
      std::string md5 = metrics::md5_hex(stored.key);
      std::string member = RedisKeys::series(kind_token, md5);
      archive_copy_[member] = {kind_token, std::move(md5), stored.key, stored};
    }
  }
  return archive_copy_.size();
}

std::size_t RedisStorageDict::restore_archive() {
  if (archive_copy_.empty()) return 0;
  for (int attempt = 0; attempt < cleanup_attempts; ++attempt) {
    if (try_restore_archive()) return archive_copy_.size();
  }
  throw RedisError("writing the archive again kept conflicting with concurrent writes");
}

// What Redis still has of the archive is read (watched) first and reconciled with the copy;
// false when a watched key changed (EXEC aborted).
bool RedisStorageDict::try_restore_archive() {
  const std::string archive_name = archive();
  Command watch = {"WATCH"};
  std::vector<Command> reads;
  for (const auto& [member, series] : archive_copy_) {
    std::string metric = layout_.metric(series.kind_token, archive_name, series.md5);
    watch.push_back(metric);
    reads.push_back({"HMGET", metric, "value", "timestamp"});
  }
  reads.insert(reads.begin(), watch);
  std::vector<Reply> replies = client_.pipeline(reads);
  std::map<std::string, ArchivedSeries> restored;
  std::size_t read = 1;
  for (const auto& [member, series] : archive_copy_) {
    ArchivedSeries& target = restored[member] = series;
    metrics::ValueKind kind;
    bool in_redis = read_stored_value(replies[read++].get(), target.value) &&
                    metrics::ValueKind::parse(series.kind_token, kind);
    reconcile_archived(kind, target.value, in_redis, series.value);
  }
  Writing writing{layout_, archive_name, ttl_seconds_, format_double(now())};
  std::vector<Command> transaction = {{"MULTI"}};
  for (const auto& [member, series] : restored) {
    append_archive_write(writing, member, series, transaction);
  }
  append_archive_index(writing, transaction);
  transaction.push_back({"EXEC"});
  std::vector<Reply> outcome = client_.pipeline(transaction);
  const redisReply* exec = outcome.back().get();
  if (exec != nullptr && exec->type == REDIS_REPLY_NIL) return false;
  throw_if_refused(exec, "writing the archive again failed");
  archive_copy_ = std::move(restored);
  return true;
}

}  // namespace prefork::storage
