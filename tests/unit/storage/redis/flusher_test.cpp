// RedisFlusher on a libuv loop against a real redis-server: pipelined writes, Redis killed and
// restarted (nothing lost), wrong password, TTL refresh, and a loop that is never blocked.
#include <doctest/doctest.h>

#include <chrono>

#include "fixture.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/flusher.hpp"

using namespace prefork::storage;
using prefork::metrics::GaugeMode;
using prefork::metrics::ProcessValues;
using prefork::testing::RedisServer;
using namespace redis_test;

namespace {

using Loop = prefork::testing::TestLoop;

std::vector<ProcessValues> counters(const std::string& process, int series, double value) {
  ProcessValues group{counter(), process, {}};
  for (int i = 0; i < series; ++i) {
    // Appended rather than "c" + …: GCC 12 warns (-Wrestrict, a false positive) at -O3.
    std::string name = "c";
    name += std::to_string(i);
    group.values.push_back({key_of(name, name + "_total"), value, 0});
  }
  return {group};
}

double stored(RedisStorageClient& check, const RedisKeys& layout, const std::string& process,
              const std::string& json) {
  std::string text = text_of(
      check, {"HGET", layout.metric("counter", process, prefork::metrics::md5_hex(json)), "value"});
  double value = -1;
  if (!parse_double(text, value)) return -1;
  return value;
}

// The longest time the loop went without running a 10 ms timer while waiting for done().
struct LoopWatch {
  uv_timer_t timer;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  double worst_ms = 0;
  explicit LoopWatch(uv_loop_t* loop) {
    uv_timer_init(loop, &timer);
    timer.data = this;
    uv_timer_start(
        &timer,
        [](uv_timer_t* handle) {
          auto* self = static_cast<LoopWatch*>(handle->data);
          auto now = std::chrono::steady_clock::now();
          double gap = std::chrono::duration<double, std::milli>(now - self->last).count();
          if (gap > self->worst_ms) self->worst_ms = gap;
          self->last = now;
        },
        10, 10);
  }
  ~LoopWatch() { uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr); }
};

}  // namespace

TEST_CASE("changed values reach Redis in pipelined batches with the documented layout") {
  RedisServer server({"pw"});
  Loop loop;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  {
    RedisFlusher flusher(dict, &loop.loop);
    flusher.write_values(counters("11", 50, 1));
    REQUIRE(run_until(
        &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));
    for (int round = 2; round <= 20; ++round) flusher.write_values(counters("11", 50, round));
    REQUIRE(run_until(
        &loop.loop, [&] { return flusher.is_idle(); }, 5));
    // Writes made while a batch was in flight were coalesced into later batches.
    CHECK(flusher.stats().batches < 20);
    CHECK(flusher.stats().failed_batches == 0);
  }
  auto check = inspector(server);
  CHECK(stored(*check, dict.layout(), "11", key_of("c0", "c0_total")) == 20);
  CHECK(stored(*check, dict.layout(), "11", key_of("c49", "c49_total")) == 20);
  // The same keys, meta and index as the blocking writer produces.
  CHECK(dict.size("11") == 50);
  CHECK(dict.processes() == std::vector<std::string>{"11"});
  CHECK(dict.items("11").at(0).values.size() == 50);
  CHECK(integer_of(*check, {"TTL", dict.layout().process("11")}) > 50);
}

TEST_CASE("Redis killed and restarted: writes resume and nothing is lost") {
  RedisServer server;
  Loop loop;
  LoopWatch watch(&loop.loop);
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  RedisFlusher flusher(dict, &loop.loop);
  std::string steady = key_of("steady", "steady_total");
  std::string moving = key_of("moving", "moving_total");
  flusher.write_values({{counter(), "21", {{steady, 7, 0}, {moving, 1, 0}}}});
  REQUIRE(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));

  server.kill();
  // Increments keep coming while Redis is gone; they accumulate in memory.
  for (int value = 2; value <= 10; ++value) {
    flusher.write_values({{counter(), "21", {{moving, double(value), 0}}}});
    run_until(
        &loop.loop, [] { return false; }, 0.02);
  }
  CHECK(run_until(
      &loop.loop, [&] { return !flusher.is_connected(); }, 5));
  CHECK_FALSE(flusher.is_idle());

  server.restart();
  REQUIRE(run_until(
      &loop.loop,
      [&] { return flusher.is_connected() && flusher.is_idle() && flusher.stats().connects >= 2; },
      15));
  auto check = inspector(server);
  CHECK(stored(*check, dict.layout(), "21", moving) == 10);
  // Redis restarted empty; the unchanged series was re-sent too, with its meta and index.
  CHECK(stored(*check, dict.layout(), "21", steady) == 7);
  CHECK(dict.size("21") == 2);
  CHECK(dict.processes() == std::vector<std::string>{"21"});
  // Reconnecting never blocked the loop (backoff runs on timers).
  CHECK(watch.worst_ms < 500);
}

TEST_CASE("the flusher logs in as an ACL user") {
  RedisServer server;
  REQUIRE(server.add_user("writer", "s3cret"));
  Loop loop;
  RedisEndpoint endpoint = endpoint_of(server);
  endpoint.username = "writer";
  endpoint.password = "s3cret";
  RedisStorageClient client(endpoint);
  RedisStorageDict dict(client, "test", 60);
  RedisFlusher flusher(dict, &loop.loop);
  flusher.write_values(counters("41", 3, 7));
  REQUIRE(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));
  auto check = inspector(server);
  CHECK(stored(*check, dict.layout(), "41", key_of("c2", "c2_total")) == 7);
  std::string clients = text_of(*check, {"CLIENT", "LIST"});
  CHECK(clients.find("user=writer") != std::string::npos);

  endpoint.password = "wrong";
  RedisStorageClient wrong_client(endpoint);
  RedisStorageDict wrong_dict(wrong_client, "test", 60);
  RedisFlusher refused(wrong_dict, &loop.loop);
  refused.write_values(counters("42", 1, 1));
  CHECK(run_until(
      &loop.loop,
      [&] { return refused.last_error().find("user writer's password") != std::string::npos; }, 5));
}

TEST_CASE("a wrong password keeps the flusher disconnected with the reason, loop unblocked") {
  RedisServer server({"right"});
  Loop loop;
  LoopWatch watch(&loop.loop);
  RedisEndpoint endpoint = endpoint_of(server);
  endpoint.password = "wrong";
  RedisStorageClient client(endpoint);
  RedisStorageDict dict(client, "test", 60);
  RedisFlusher flusher(dict, &loop.loop);
  flusher.write_values(counters("31", 1, 1));
  CHECK(run_until(
      &loop.loop, [&] { return flusher.last_error().find("password") != std::string::npos; }, 5));
  CHECK_FALSE(flusher.is_connected());
  CHECK_FALSE(flusher.is_idle());
  CHECK(watch.worst_ms < 500);
}

TEST_CASE("a command that hangs past the timeout drops the connection; the batch is re-sent") {
  RedisServer server;
  Loop loop;
  RedisEndpoint endpoint = endpoint_of(server);
  endpoint.command_timeout = 0.2;
  RedisStorageClient client(endpoint);
  RedisStorageDict dict(client, "test", 60);
  RedisFlusher flusher(dict, &loop.loop);
  flusher.write_values(counters("41", 1, 1));
  REQUIRE(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));

  inspector(server)->command({"CLIENT", "PAUSE", "700", "WRITE"});
  flusher.write_values(counters("41", 1, 2));
  CHECK(run_until(
      &loop.loop, [&] { return flusher.stats().failed_batches >= 1; }, 5));
  REQUIRE(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 10));
  auto check = inspector(server);
  CHECK(stored(*check, dict.layout(), "41", key_of("c0", "c0_total")) == 2);
}

TEST_CASE("a live process's keys never expire: the flusher refreshes TTLs") {
  RedisServer server;
  Loop loop;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 2);
  RedisFlusher flusher(dict, &loop.loop);
  flusher.write_values(counters("51", 3, 1));
  REQUIRE(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));
  // Well past the 2 s TTL without any new value: the touch timer alone keeps them.
  run_until(
      &loop.loop, [] { return false; }, 3.5);
  auto check = inspector(server);
  CHECK(stored(*check, dict.layout(), "51", key_of("c2", "c2_total")) == 1);
  CHECK(dict.size("51") == 3);
  CHECK(dict.processes() == std::vector<std::string>{"51"});
}
