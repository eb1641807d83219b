#include "storage/redis/write_commands.hpp"

#include <set>

#include "metrics/md5.hpp"

namespace prefork::storage {

void append_series_write(const RedisKeys& keys, int ttl_seconds, const std::string& now,
                         const SeriesWrite& write, std::vector<Command>& out) {
  std::string ttl = std::to_string(ttl_seconds);
  std::string metric = keys.metric(write.kind, write.process, write.md5);
  out.push_back({"HSET", metric, "value", format_double(write.value->value), "timestamp",
                 format_double(write.value->timestamp), "updated_at", now});
  out.push_back({"EXPIRE", metric, ttl});
  if (!write.with_meta) return;
  std::string meta = keys.meta(write.kind, write.process, write.md5);
  out.push_back({"HSET", meta, "original_key", write.value->key});
  out.push_back({"HSETNX", meta, "created_at", now});
  out.push_back({"EXPIRE", meta, ttl});
  out.push_back({"SADD", keys.process(write.process), RedisKeys::series(write.kind, write.md5)});
}

void append_process_registration(const RedisKeys& keys, int ttl_seconds, std::string_view process,
                                 std::vector<Command>& out) {
  std::string ttl = std::to_string(ttl_seconds);
  out.push_back({"EXPIRE", keys.process(process), ttl});
  out.push_back({"SADD", keys.processes(), std::string(process)});
  out.push_back({"EXPIRE", keys.processes(), ttl});
}

std::vector<Command> write_commands(const RedisKeys& keys, int ttl_seconds, double now,
                                    const std::vector<metrics::ProcessValues>& batch) {
  std::vector<Command> commands;
  std::string now_text = format_double(now);
  std::set<std::string_view> processes;
  for (const metrics::ProcessValues& values : batch) {
    std::string kind = values.kind.token();
    for (const metrics::StoredValue& value : values.values) {
      std::string md5 = metrics::md5_hex(value.key);
      append_series_write(keys, ttl_seconds, now_text, {kind, values.process, md5, &value, true},
                          commands);
    }
    if (!values.values.empty()) processes.insert(values.process);
  }
  for (std::string_view process : processes) {
    append_process_registration(keys, ttl_seconds, process, commands);
  }
  return commands;
}

}  // namespace prefork::storage
