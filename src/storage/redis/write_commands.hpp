// The commands that store values: absolute HSETs (never HINCRBYFLOAT), an expiry on every key,
// and the index entries the collector finds processes by. Shared by the blocking and the
// pipelined async writers so both store exactly the same thing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/sample.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {

struct SeriesWrite {
  std::string_view kind;  // ValueKind::token()
  std::string_view process;
  std::string_view md5;  // of value.key
  const metrics::StoredValue* value = nullptr;
  bool with_meta = true;  // also (re)write the meta hash and the index entry
};

// EXPIRE key ttl_seconds; with a TTL of 0 (keys never expire), PERSIST key: a key an earlier
// run left with a TTL (a reused pid, the instance's archive) must not expire under this one.
Command expiry(std::string key, int ttl_seconds);

// HSET metric value/timestamp/updated_at + EXPIRE; with meta: HSET original_key, HSETNX
// created_at, EXPIRE, SADD to the process set.
void append_series_write(const RedisKeys& keys, int ttl_seconds, const std::string& now,
                         const SeriesWrite& write, std::vector<Command>& out);

// Puts a process in the index and refreshes the TTL of its set and of the index.
void append_process_registration(const RedisKeys& keys, int ttl_seconds, std::string_view process,
                                 std::vector<Command>& out);

}  // namespace prefork::storage
