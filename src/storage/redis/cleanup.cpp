// RedisStorageDict::cleanup_dead_workers: fold dead processes into their instance's archive.
#include <map>
#include <string>
#include <vector>

#include "metrics/fold.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/reply.hpp"
#include "storage/redis/storage_dict.hpp"

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
  const DeadSeries* first = nullptr;  // names the series
  std::size_t read = 0;               // where the archive's value is among the replies
  metrics::StoredValue value;
  bool exists = false;
  std::string original_key;
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

struct Writing {
  const RedisKeys& layout;
  std::string archive;
  std::string ttl;
  std::string now;
};

void append_archive_writes(const Writing& writing,
                           const std::map<std::string, ArchiveSeries>& archived,
                           std::vector<Command>& transaction) {
  for (const auto& [member, target] : archived) {
    if (!target.folded) continue;
    const DeadSeries& series = *target.first;
    std::string metric = writing.layout.metric(series.kind_token, writing.archive, series.md5);
    std::string meta = writing.layout.meta(series.kind_token, writing.archive, series.md5);
    transaction.push_back({"HSET", metric, "value", format_double(target.value.value), "timestamp",
                           format_double(target.value.timestamp), "updated_at", writing.now});
    transaction.push_back({"EXPIRE", metric, writing.ttl});
    transaction.push_back({"HSET", meta, "original_key", target.original_key});
    transaction.push_back({"HSETNX", meta, "created_at", writing.now});
    transaction.push_back({"EXPIRE", meta, writing.ttl});
    transaction.push_back({"SADD", writing.layout.process(writing.archive), member});
  }
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
      ArchiveSeries& target = archived[series.member];
      if (target.first == nullptr) target.first = &series;
    }
  }
  for (auto& [member, target] : archived) {
    std::string metric = layout_.metric(target.first->kind_token, archive_name, target.first->md5);
    watch.push_back(metric);
    watch.push_back(layout_.meta(target.first->kind_token, archive_name, target.first->md5));
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
    target.exists = read_stored_value(replies[offset + target.read].get(), target.value);
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
      metrics::fold_into(series.kind, target.value, target.exists, dead);
      target.exists = true;
      target.folded = true;
      target.original_key = std::string(reply_text(original));
      ++result.folded;
    }
  }
  Writing writing{layout_, archive_name, std::to_string(ttl_seconds_), format_double(now())};
  append_archive_writes(writing, archived, transaction);
  for (std::size_t p = 0; p < processes.size(); ++p) {
    append_process_deletes(writing, processes[p], members[p], result, transaction);
  }
  if (result.folded > 0) {
    transaction.push_back({"EXPIRE", layout_.process(archive_name), writing.ttl});
    transaction.push_back({"SADD", layout_.processes(), archive_name});
    transaction.push_back({"EXPIRE", layout_.processes(), writing.ttl});
  }
  transaction.push_back({"EXEC"});

  std::vector<Reply> outcome = client_.pipeline(transaction);
  const redisReply* exec = outcome.back().get();
  if (exec != nullptr && exec->type == REDIS_REPLY_NIL) return std::nullopt;
  if (reply_is_error(exec)) {
    throw RedisError("cleanup of dead processes failed: " + std::string(reply_text(exec)));
  }
  return result;
}

}  // namespace prefork::storage
