// Flush throughput to a real redis-server: values/s written by RedisFlusher (pipelined, async
// on a libuv loop) and by the blocking write_values, plus collect+render time for
// 16 processes x 200 series: the first scrape (which also reads every original key) apart,
// then p50/p99 of the following ones.
// Usage: bench_redis_flush [series-per-batch] [rounds] [scrapes]
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "metrics/json_key.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/flusher.hpp"
#include "support/redis_server.hpp"

using namespace prefork;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<metrics::ProcessValues> batch_of(const std::string& process, int series, double value) {
  metrics::ProcessValues counters{{metrics::Type::counter, {}}, process, {}};
  for (int i = 0; i < series; ++i) {
    std::string name = "bench_series_" + std::to_string(i % 20);
    counters.values.push_back(
        {metrics::json_key(name, name + "_total", {{"index", std::to_string(i)}}, "bench"), value,
         0});
  }
  return {counters};
}

storage::RedisEndpoint endpoint_of(const testing::RedisServer& server) {
  storage::RedisEndpoint endpoint;
  endpoint.host = server.host();
  endpoint.port = server.port();
  return endpoint;
}

double async_values_per_second(const testing::RedisServer& server, int series, int rounds) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  double rate = 0;
  {
    storage::RedisStorageClient client(endpoint_of(server));
    storage::RedisStorageDict dict(client, "bench", 300);
    storage::RedisFlusher flusher(dict, &loop);
    auto settle = [&] {
      while (!(flusher.is_connected() && flusher.is_idle())) uv_run(&loop, UV_RUN_ONCE);
    };
    flusher.write_values(batch_of("1", series, 0));
    settle();
    std::uint64_t sent_before = flusher.stats().values;
    auto start = Clock::now();
    for (int round = 1; round <= rounds; ++round) {
      flusher.write_values(batch_of("1", series, round));
      settle();
    }
    rate = double(flusher.stats().values - sent_before) / seconds_since(start);
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  uv_loop_close(&loop);
  return rate;
}

double sync_values_per_second(const testing::RedisServer& server, int series, int rounds) {
  storage::RedisStorageClient client(endpoint_of(server));
  storage::RedisStorageDict dict(client, "bench", 300);
  dict.write_values(batch_of("2", series, 0));
  auto start = Clock::now();
  for (int round = 1; round <= rounds; ++round) dict.write_values(batch_of("2", series, round));
  return double(series) * rounds / seconds_since(start);
}

void collect_and_render(const testing::RedisServer& server, int scrapes) {
  storage::RedisStorageClient client(endpoint_of(server));
  storage::RedisStorageDict dict(client, "scrape", 300);
  for (int process = 0; process < 16; ++process) {
    dict.write_values(batch_of(std::to_string(1000 + process), 200, process));
  }
  storage::RedisMultiProcessCollector collector(dict);
  auto first_start = Clock::now();
  std::size_t bytes = collector.render().size();
  double first = seconds_since(first_start) * 1000;
  std::vector<double> times;
  for (int i = 0; i < scrapes; ++i) {
    auto start = Clock::now();
    bytes = collector.render().size();
    times.push_back(seconds_since(start) * 1000);
  }
  std::sort(times.begin(), times.end());
  std::printf(
      "collect+render 16 processes x 200 series: first %.2f ms, then p50 %.2f ms, p99 %.2f ms "
      "over %d scrapes (%zu bytes)\n",
      first, times[times.size() / 2], times[times.size() * 99 / 100], scrapes, bytes);
}

}  // namespace

int main(int argc, char** argv) {
  int series = argc > 1 ? std::atoi(argv[1]) : 1000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 200;
  int scrapes = argc > 3 ? std::max(1, std::atoi(argv[3])) : 200;
  testing::RedisServer server;
  std::printf("redis-server on 127.0.0.1:%d; %d values per batch, %d batches\n", server.port(),
              series, rounds);
  std::printf("async pipelined flush (RedisFlusher): %.0f values/s\n",
              async_values_per_second(server, series, rounds));
  std::printf("blocking pipelined write_values:      %.0f values/s\n",
              sync_values_per_second(server, series, rounds));
  collect_and_render(server, scrapes);
  return 0;
}
