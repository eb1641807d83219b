#include "storage/redis/write_commands.hpp"

namespace prefork::storage {

Command expiry(std::string key, int ttl_seconds) {
  if (ttl_seconds == 0) return {"PERSIST", std::move(key)};
  return {"EXPIRE", std::move(key), std::to_string(ttl_seconds)};
}

void append_series_write(const RedisKeys& keys, int ttl_seconds, const std::string& now,
                         const SeriesWrite& write, std::vector<Command>& out) {
  std::string metric = keys.metric(write.kind, write.process, write.md5);
  out.push_back({"HSET", metric, "value", format_double(write.value->value), "timestamp",
                 format_double(write.value->timestamp), "updated_at", now});
  out.push_back(expiry(metric, ttl_seconds));
  if (!write.with_meta) return;
  std::string meta = keys.meta(write.kind, write.process, write.md5);
  out.push_back({"HSET", meta, "original_key", write.value->key});
  out.push_back({"HSETNX", meta, "created_at", now});
  out.push_back(expiry(meta, ttl_seconds));
  out.push_back({"SADD", keys.process(write.process), RedisKeys::series(write.kind, write.md5)});
}

void append_process_registration(const RedisKeys& keys, int ttl_seconds, std::string_view process,
                                 std::vector<Command>& out) {
  out.push_back(expiry(keys.process(process), ttl_seconds));
  out.push_back({"SADD", keys.processes(), std::string(process)});
  out.push_back(expiry(keys.processes(), ttl_seconds));
}

}  // namespace prefork::storage
