#include "storage/redis/storage_dict.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <span>
#include <utility>

#include "metrics/md5.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/reply.hpp"
#include "storage/redis/scripts.hpp"
#include "storage/redis/write_commands.hpp"

namespace prefork::storage {
namespace {

constexpr double clock_remeasure_seconds = 60;
constexpr int snapshot_attempts = 5;

std::vector<std::string> strings_of(const redisReply* reply) {
  std::vector<std::string> out;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    out.emplace_back(reply_text(reply->element[i]));
  }
  return out;
}

// HMGET value timestamp for mostrecent gauges, HGET value for the rest.
bool read_planned_value(const redisReply* reply, bool with_timestamp,
                        metrics::StoredValue& stored) {
  if (with_timestamp) return read_stored_value(reply, stored);
  return reply != nullptr && reply->type == REDIS_REPLY_STRING &&
         parse_double(reply_text(reply), stored.value);
}

}  // namespace

RedisStorageDict::RedisStorageDict(RedisStorageClient& client, std::string key_prefix,
                                   int ttl_seconds, std::string instance)
    : client_(client),
      layout_(std::move(key_prefix), instance),
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

// A series' meta hash and index entries are written once per connection and TTL period, like
// a worker's flusher does: rewritten every second (the master's own values), their EXPIREs
// touched the index that every snapshot watches and made a fleet's snapshots start over.
void RedisStorageDict::write_values(const std::vector<metrics::ProcessValues>& batch) {
  std::uint64_t connection = client_.connections();
  write_batch(batch);
  // The batch went over a new connection, perhaps to a Redis that lost what it left out.
  if (client_.connections() != connection) write_batch(batch);
}

void RedisStorageDict::write_batch(const std::vector<metrics::ProcessValues>& batch) {
  double at = now();
  bool refresh = ttl_seconds_ > 0 && at - registered_at_ >= ttl_seconds_ / 3.0;
  if (client_.connections() != registered_on_ || refresh) {
    registered_.clear();
    registered_on_ = client_.connections();
    registered_at_ = at;
  }
  std::vector<Command> commands;
  std::vector<std::string> registering;
  std::set<std::string_view> processes;
  std::string at_text = format_double(at);
  for (const metrics::ProcessValues& values : batch) {
    std::string kind = values.kind.token();
    for (const metrics::StoredValue& value : values.values) {
      std::string md5 = metrics::md5_hex(value.key);
      std::string metric = layout_.metric(kind, values.process, md5);
      bool with_meta = !registered_.contains(metric);
      append_series_write(layout_, ttl_seconds_, at_text,
                          {kind, values.process, md5, &value, with_meta}, commands);
      if (!with_meta) continue;
      registering.push_back(std::move(metric));
      processes.insert(values.process);
    }
  }
  for (std::string_view process : processes) {
    append_process_registration(layout_, ttl_seconds_, process, commands);
  }
  for (const Reply& reply : client_.pipeline(commands)) {
    if (reply_is_error(reply.get())) {
      throw RedisError("Redis refused a write: " + std::string(reply_text(reply.get())));
    }
  }
  registered_.insert(registering.begin(), registering.end());
}

bool RedisStorageDict::contains(const Series& series) {
  return client_.command({"EXISTS", metric_key(series)})->integer == 1;
}

bool RedisStorageDict::erase(const Series& series) {
  registered_.clear();  // deleted keys are written whole again
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

std::vector<metrics::ProcessValues> RedisStorageDict::snapshot(const ProcessFilter& keep) {
  for (int attempt = 0; attempt < snapshot_attempts; ++attempt) {
    if (std::optional<std::vector<metrics::ProcessValues>> values = try_snapshot(true, keep)) {
      return std::move(*values);
    }
  }
  // Writers kept changing the index; a read that is not atomic beats no read at all.
  return try_snapshot(false, keep).value_or(std::vector<metrics::ProcessValues>{});
}

// Three round trips: the index, the sizes of the process sets, then every hash, followed by an
// empty MULTI/EXEC. The index and the sets are watched from the start, so a cleanup (or a new
// series) before the EXEC aborts it and the read starts over: a collector never sees a dead
// process both gone and not yet archived. The values are read outside the transaction, as
// prometheus_client reads its files while workers write them: Redis queueing 25 000 reads
// only to run them at EXEC doubled the replies and held every worker's flush for the whole
// read. The reads are planned once per membership of the sets (SnapshotPlan); when a set's
// size says the plan no longer fits, a fourth trip reads the members.
std::optional<std::vector<metrics::ProcessValues>> RedisStorageDict::try_snapshot(
    bool atomic, const ProcessFilter& keep) {
  std::vector<Command> first;
  if (atomic) first.push_back({"WATCH", layout_.processes()});
  first.push_back({"SMEMBERS", layout_.processes()});
  std::vector<std::string> processes = strings_of(client_.pipeline(first).back().get());
  if (keep) std::erase_if(processes, [&](const std::string& process) { return !keep(process); });

  SnapshotPlan::Clock::time_point now = SnapshotPlan::Clock::now();
  bool members_due = plan_.members_due(now);
  std::vector<Reply> sets = read_sets(processes, atomic, members_due ? "SMEMBERS" : "SCARD");
  if (!members_due && !plan_.fits(processes, sets, now)) {
    sets = read_sets(processes, false, "SMEMBERS");
    members_due = true;
  }
  if (members_due && !plan_.matches(processes, sets, now)) {
    plan_.build(layout_, std::move(processes), sets, original_keys_, now);
  }
  return atomic ? read_planned_atomically()
                : values_of(client_.pipeline({plan_.reads()}, plan_.read_count()));
}

// One reply per process: COMMAND of its set (SCARD or SMEMBERS), each watched when asked.
std::vector<Reply> RedisStorageDict::read_sets(const std::vector<std::string>& processes,
                                               bool watch, const char* command) {
  std::vector<Command> commands;
  if (watch && !processes.empty()) {
    Command watched = {"WATCH"};
    for (const std::string& process : processes) watched.push_back(layout_.process(process));
    commands.push_back(std::move(watched));
  }
  for (const std::string& process : processes) {
    commands.push_back({command, layout_.process(process)});
  }
  std::vector<Reply> replies = client_.pipeline(commands);
  if (watch && !processes.empty()) replies.erase(replies.begin());
  return replies;
}

// The planned reads, then MULTI and EXEC: an EXEC that is refused (nil) means a watched key
// changed since the WATCH.
std::optional<std::vector<metrics::ProcessValues>> RedisStorageDict::read_planned_atomically() {
  static constexpr std::string_view multi_exec = "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\n";
  std::vector<Reply> replies =
      client_.pipeline({plan_.reads(), multi_exec}, plan_.read_count() + 2);
  const redisReply* result = replies.back().get();
  if (result == nullptr || result->type == REDIS_REPLY_NIL) return std::nullopt;
  if (result->type != REDIS_REPLY_ARRAY) {
    throw RedisError("Redis refused the snapshot: " + std::string(reply_text(result)));
  }
  replies.resize(plan_.read_count());
  return values_of(replies);
}

std::vector<metrics::ProcessValues> RedisStorageDict::values_of(const std::vector<Reply>& replies) {
  std::vector<metrics::ProcessValues> out;
  out.reserve(plan_.groups().size());
  for (const PlannedGroup& group : plan_.groups()) {
    out.push_back({group.kind, plan_.processes()[group.process], {}});
    out.back().values.reserve(group.values);
  }
  for (PlannedValue& planned : plan_.values()) {
    metrics::StoredValue stored;
    if (planned.value_read >= replies.size() ||
        !read_planned_value(replies[planned.value_read].get(), planned.with_timestamp, stored)) {
      continue;  // expired between the index and the read
    }
    if (planned.key == nullptr) {
      const redisReply* original =
          planned.meta_read < replies.size() ? replies[planned.meta_read].get() : nullptr;
      if (original == nullptr || original->type != REDIS_REPLY_STRING) continue;
      planned.key = &original_keys_.try_emplace(planned.md5, reply_text(original)).first->second;
    }
    stored.key = *planned.key;
    out[planned.group].values.push_back(std::move(stored));
  }
  if (plan_.reads_meta()) plan_.discard();
  std::erase_if(out, [](const metrics::ProcessValues& group) { return group.values.empty(); });
  return out;
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
  registered_.clear();
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

bool RedisStorageDict::disconnect_clients(const std::vector<long long>& ids) {
  // One command per id: several ID filters in one CLIENT KILL are ANDed.
  std::vector<Command> kills;
  for (long long id : ids) kills.push_back({"CLIENT", "KILL", "ID", std::to_string(id)});
  for (const Reply& reply : client_.pipeline(kills)) {
    if (reply_is_error(reply.get())) return false;
  }
  return true;
}

void RedisStorageDict::touch(const std::vector<std::string>& processes) {
  Command command = {"EVAL", std::string(scripts::touch), "0", layout_.prefix(),
                     std::to_string(ttl_seconds_)};
  command.insert(command.end(), processes.begin(), processes.end());
  client_.command(command);
}

}  // namespace prefork::storage
