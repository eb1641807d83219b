// RedisStorageDict::cleanup_dead_worker: fold a dead process into its instance's archive.
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

}  // namespace

CleanupResult RedisStorageDict::cleanup_dead_worker(long pid) {
  return cleanup_dead_worker(process_name(instance_, pid));
}

CleanupResult RedisStorageDict::cleanup_dead_worker(std::string_view process) {
  if (process == archive()) return {};
  for (int attempt = 0; attempt < cleanup_attempts; ++attempt) {
    if (std::optional<CleanupResult> result = try_cleanup(process)) return *result;
  }
  throw RedisError("cleanup of process " + std::string(process) +
                   " kept conflicting with concurrent writes");
}

// Watches every key it reads, computes the archive values with metrics::fold_into and
// applies them in MULTI/EXEC; nullopt when a watched key changed (EXEC aborted).
std::optional<CleanupResult> RedisStorageDict::try_cleanup(std::string_view process) {
  const std::string archive_name = archive();
  const std::string process_set = layout_.process(process);
  client_.command({"WATCH", process_set});
  std::vector<DeadSeries> members = parse_members(client_.command({"SMEMBERS", process_set}).get());

  std::vector<const DeadSeries*> folded;
  Command watch = {"WATCH"};
  for (const DeadSeries& series : members) {
    if (!metrics::is_archived(series.kind)) continue;
    folded.push_back(&series);
    watch.push_back(layout_.metric(series.kind_token, process, series.md5));
    watch.push_back(layout_.metric(series.kind_token, archive_name, series.md5));
    watch.push_back(layout_.meta(series.kind_token, archive_name, series.md5));
  }
  std::vector<Command> reads;
  if (watch.size() > 1) reads.push_back(watch);
  for (const DeadSeries* series : folded) {
    reads.push_back(
        {"HMGET", layout_.metric(series->kind_token, process, series->md5), "value", "timestamp"});
    reads.push_back(
        {"HGET", layout_.meta(series->kind_token, process, series->md5), "original_key"});
    reads.push_back({"HMGET", layout_.metric(series->kind_token, archive_name, series->md5),
                     "value", "timestamp"});
  }
  std::vector<Reply> replies = client_.pipeline(reads);
  std::string now_text = format_double(now());
  std::string ttl = std::to_string(ttl_seconds_);

  CleanupResult result;
  std::vector<Command> transaction = {{"MULTI"}};
  std::size_t next = watch.size() > 1 ? 1 : 0;
  for (const DeadSeries* series : folded) {
    metrics::StoredValue dead, archived;
    bool has_dead = read_stored_value(replies[next].get(), dead);
    const redisReply* original = replies[next + 1].get();
    bool has_archive = read_stored_value(replies[next + 2].get(), archived);
    next += 3;
    if (!has_dead || original == nullptr || original->type != REDIS_REPLY_STRING) continue;
    metrics::fold_into(series->kind, archived, has_archive, dead);
    std::string target = layout_.metric(series->kind_token, archive_name, series->md5);
    std::string target_meta = layout_.meta(series->kind_token, archive_name, series->md5);
    transaction.push_back({"HSET", target, "value", format_double(archived.value), "timestamp",
                           format_double(archived.timestamp), "updated_at", now_text});
    transaction.push_back({"EXPIRE", target, ttl});
    transaction.push_back({"HSET", target_meta, "original_key", std::string(reply_text(original))});
    transaction.push_back({"HSETNX", target_meta, "created_at", now_text});
    transaction.push_back({"EXPIRE", target_meta, ttl});
    transaction.push_back({"SADD", layout_.process(archive_name), series->member});
    ++result.folded;
  }
  for (const DeadSeries& series : members) {
    if (series.kind.type == metrics::Type::gauge && !series.kind.is_live_gauge() &&
        !metrics::is_archived(series.kind)) {
      ++result.kept;
      continue;
    }
    transaction.push_back({"DEL", layout_.metric(series.kind_token, process, series.md5),
                           layout_.meta(series.kind_token, process, series.md5)});
    transaction.push_back({"SREM", process_set, series.member});
    ++result.deleted;
  }
  if (result.kept == 0) {
    transaction.push_back({"DEL", process_set});
    transaction.push_back({"SREM", layout_.processes(), std::string(process)});
  }
  if (result.folded > 0) {
    transaction.push_back({"EXPIRE", layout_.process(archive_name), ttl});
    transaction.push_back({"SADD", layout_.processes(), archive_name});
    transaction.push_back({"EXPIRE", layout_.processes(), ttl});
  }
  transaction.push_back({"EXEC"});

  std::vector<Reply> outcome = client_.pipeline(transaction);
  const redisReply* exec = outcome.back().get();
  if (exec != nullptr && exec->type == REDIS_REPLY_NIL) return std::nullopt;
  if (reply_is_error(exec)) {
    throw RedisError("cleanup of process " + std::string(process) +
                     " failed: " + std::string(reply_text(exec)));
  }
  return result;
}

}  // namespace prefork::storage
