#include "storage/redis/storage_dict.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

#include "metrics/md5.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/scripts.hpp"
#include "storage/redis/write_commands.hpp"

namespace prefork::storage {
namespace {

constexpr double clock_remeasure_seconds = 60;

std::vector<std::string> strings_of(const redisReply* reply) {
  std::vector<std::string> out;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    out.emplace_back(reply_text(reply->element[i]));
  }
  return out;
}

}  // namespace

RedisStorageDict::RedisStorageDict(RedisStorageClient& client, std::string key_prefix,
                                   int ttl_seconds, std::string instance)
    : client_(client),
      layout_(std::move(key_prefix)),
      ttl_seconds_(ttl_seconds),
      instance_(std::move(instance)) {}

double RedisStorageDict::now() {
  double local = local_time();
  if (local - clock_measured_at_ >= clock_remeasure_seconds) {
    clock_offset_ = client_.server_time() - local;
    clock_measured_at_ = local;
  }
  return local + clock_offset_;
}

std::string RedisStorageDict::metric_key(const Series& series) const {
  return layout_.metric(series.kind.token(), series.process, metrics::md5_hex(series.key));
}

std::string RedisStorageDict::meta_key(const Series& series) const {
  return layout_.meta(series.kind.token(), series.process, metrics::md5_hex(series.key));
}

std::optional<metrics::StoredValue> RedisStorageDict::read_value(const Series& series) {
  Reply reply = client_.command({"HMGET", metric_key(series), "value", "timestamp"});
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  metrics::StoredValue stored;
  stored.key = series.key;
  if (!parse_double(reply_text(reply->element[0]), stored.value)) return std::nullopt;
  if (!parse_double(reply_text(reply->element[1]), stored.timestamp)) stored.timestamp = 0;
  return stored;
}

void RedisStorageDict::write_value(const Series& series, double value, double timestamp) {
  metrics::ProcessValues batch{series.kind, series.process, {{series.key, value, timestamp}}};
  write_values({batch});
}

void RedisStorageDict::write_values(const std::vector<metrics::ProcessValues>& batch) {
  std::vector<Command> commands = write_commands(layout_, ttl_seconds_, now(), batch);
  for (const Reply& reply : client_.pipeline(commands)) {
    if (reply_is_error(reply.get())) {
      throw RedisError("Redis refused a write: " + std::string(reply_text(reply.get())));
    }
  }
}

bool RedisStorageDict::contains(const Series& series) {
  return client_.command({"EXISTS", metric_key(series)})->integer == 1;
}

bool RedisStorageDict::erase(const Series& series) {
  std::string kind = series.kind.token();
  std::string md5 = metrics::md5_hex(series.key);
  std::vector<Reply> replies = client_.pipeline(
      {{"DEL", layout_.metric(kind, series.process, md5), layout_.meta(kind, series.process, md5)},
       {"SREM", layout_.process(series.process), RedisKeys::series(kind, md5)}});
  return !replies.empty() && replies.front() && replies.front()->integer > 0;
}

std::vector<std::string> RedisStorageDict::processes() {
  return strings_of(client_.command({"SMEMBERS", layout_.processes()}).get());
}

std::vector<metrics::ProcessValues> RedisStorageDict::snapshot() {
  Reply rows = client_.command({"EVAL", std::string(scripts::snapshot), "0", layout_.prefix()});
  return group_rows(rows.get());
}

std::vector<metrics::ProcessValues> RedisStorageDict::items(std::string_view process) {
  std::vector<std::string> members =
      strings_of(client_.command({"SMEMBERS", layout_.process(process)}).get());
  std::vector<Command> reads;
  for (const std::string& member : members) {
    std::string_view kind, md5;
    if (!RedisKeys::split_series(member, kind, md5)) continue;
    reads.push_back({"HMGET", layout_.metric(kind, process, md5), "value", "timestamp"});
    reads.push_back({"HGET", layout_.meta(kind, process, md5), "original_key"});
  }
  std::vector<Reply> replies = client_.pipeline(reads);
  std::vector<metrics::ProcessValues> out;
  std::size_t next = 0;
  for (const std::string& member : members) {
    std::string_view kind_token, md5;
    if (!RedisKeys::split_series(member, kind_token, md5)) continue;
    const redisReply* fields = replies[next].get();
    const redisReply* original = replies[next + 1].get();
    next += 2;
    metrics::ValueKind kind;
    metrics::StoredValue stored;
    if (!metrics::ValueKind::parse(kind_token, kind) || original->type != REDIS_REPLY_STRING ||
        fields->type != REDIS_REPLY_ARRAY || fields->elements != 2 ||
        !parse_double(reply_text(fields->element[0]), stored.value)) {
      continue;
    }
    if (!parse_double(reply_text(fields->element[1]), stored.timestamp)) stored.timestamp = 0;
    stored.key = std::string(reply_text(original));
    auto group = std::find_if(out.begin(), out.end(), [&](const metrics::ProcessValues& values) {
      return values.kind == kind;
    });
    if (group == out.end()) {
      out.push_back({kind, std::string(process), {}});
      group = std::prev(out.end());
    }
    group->values.push_back(std::move(stored));
  }
  return out;
}

std::vector<Series> RedisStorageDict::keys(std::string_view process) {
  std::vector<Series> out;
  for (const metrics::ProcessValues& group : items(process)) {
    for (const metrics::StoredValue& stored : group.values) {
      out.push_back({group.kind, group.process, stored.key});
    }
  }
  return out;
}

std::vector<double> RedisStorageDict::values(std::string_view process) {
  std::vector<double> out;
  for (const metrics::ProcessValues& group : items(process)) {
    for (const metrics::StoredValue& stored : group.values) out.push_back(stored.value);
  }
  return out;
}

std::size_t RedisStorageDict::size(std::string_view process) {
  return static_cast<std::size_t>(client_.command({"SCARD", layout_.process(process)})->integer);
}

void RedisStorageDict::clear(std::string_view process) {
  std::vector<std::string> members =
      strings_of(client_.command({"SMEMBERS", layout_.process(process)}).get());
  Command del = {"DEL", layout_.process(process)};
  for (const std::string& member : members) {
    std::string_view kind, md5;
    if (!RedisKeys::split_series(member, kind, md5)) continue;
    del.push_back(layout_.metric(kind, process, md5));
    del.push_back(layout_.meta(kind, process, md5));
  }
  client_.pipeline({del, {"SREM", layout_.processes(), std::string(process)}});
}

void RedisStorageDict::touch(const std::vector<std::string>& processes) {
  Command command = {"EVAL", std::string(scripts::touch), "0", layout_.prefix(),
                     std::to_string(ttl_seconds_)};
  command.insert(command.end(), processes.begin(), processes.end());
  client_.command(command);
}

std::vector<metrics::ProcessValues> group_rows(const redisReply* rows) {
  std::vector<metrics::ProcessValues> out;
  if (rows == nullptr || rows->type != REDIS_REPLY_ARRAY) return out;
  std::map<std::pair<std::string, std::string>, std::size_t> groups;
  for (std::size_t i = 0; i + 5 <= rows->elements; i += 5) {
    std::string process(reply_text(rows->element[i]));
    std::string kind_token(reply_text(rows->element[i + 1]));
    metrics::ValueKind kind;
    metrics::StoredValue stored;
    stored.key = std::string(reply_text(rows->element[i + 2]));
    if (!metrics::ValueKind::parse(kind_token, kind) ||
        !parse_double(reply_text(rows->element[i + 3]), stored.value)) {
      continue;
    }
    if (!parse_double(reply_text(rows->element[i + 4]), stored.timestamp)) stored.timestamp = 0;
    auto [group, added] = groups.try_emplace({process, kind_token}, out.size());
    if (added) out.push_back({kind, process, {}});
    out[group->second].values.push_back(std::move(stored));
  }
  return out;
}

}  // namespace prefork::storage
