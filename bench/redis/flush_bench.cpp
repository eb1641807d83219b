// Flush throughput to a real redis-server, over plain TCP and over TLS (the same server's TLS
// port, certificates made with openssl): values/s written by RedisFlusher (pipelined, async on
// a libuv loop) and by the blocking write_values, each the median of `repeats` runs that
// alternate plain and TLS, and the TLS / plain ratio; then collect+render time for 16 processes
// x 200 series over plain TCP: the first scrape (which also reads every original key) apart,
// then p50/p99 of the following ones. Prints a markdown report.
// Usage: bench_redis_flush [series-per-batch] [rounds] [scrapes] [repeats]
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "metrics/json_key.hpp"
#include "net/tls/client_context.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/flusher.hpp"
#include "support/certificates.hpp"
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

// The server's TLS port, its certificate checked against ca_file (name and IP address too).
storage::RedisEndpoint tls_endpoint_of(const testing::RedisServer& server,
                                       const std::string& ca_file) {
  storage::RedisEndpoint endpoint = endpoint_of(server);
  endpoint.port = server.tls_port();
  auto context = net::tls::ClientContext::make({ca_file, "", "", true, true});
  if (!context) {
    std::fprintf(stderr, "TLS: %s\n", context.message().c_str());
    std::exit(1);
  }
  endpoint.tls = std::move(*context);
  return endpoint;
}

double async_values_per_second(const storage::RedisEndpoint& endpoint, int series, int rounds) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  double rate = 0;
  {
    storage::RedisStorageClient client(endpoint);
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

double sync_values_per_second(const storage::RedisEndpoint& endpoint, int series, int rounds) {
  storage::RedisStorageClient client(endpoint);
  storage::RedisStorageDict dict(client, "bench", 300);
  dict.write_values(batch_of("2", series, 0));
  auto start = Clock::now();
  for (int round = 1; round <= rounds; ++round) dict.write_values(batch_of("2", series, round));
  return double(series) * rounds / seconds_since(start);
}

void collect_and_render(const storage::RedisEndpoint& endpoint, int scrapes) {
  storage::RedisStorageClient client(endpoint);
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
      "collect+render over plain TCP, 16 processes x 200 series: first %.2f ms, then p50 %.2f ms, "
      "p99 %.2f ms over %d scrapes (%zu bytes)\n",
      first, times[times.size() / 2], times[times.size() * 99 / 100], scrapes, bytes);
}

using Measure = double (*)(const storage::RedisEndpoint&, int, int);

// One table row: measure's median over repeats runs on each endpoint, plain and TLS alternating
// so that the machine's drifts hit both alike.
void print_row(const char* what, Measure measure, const storage::RedisEndpoint& plain,
               const storage::RedisEndpoint& tls, int series, int rounds, int repeats) {
  std::vector<double> plain_rates, tls_rates;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    plain_rates.push_back(measure(plain, series, rounds));
    tls_rates.push_back(measure(tls, series, rounds));
  }
  auto median = [](std::vector<double>& rates) {
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  };
  double plain_rate = median(plain_rates), tls_rate = median(tls_rates);
  std::printf("| %s | %.0f | %.0f | %.2f× |\n", what, plain_rate, tls_rate, tls_rate / plain_rate);
}

}  // namespace

int main(int argc, char** argv) {
  int series = argc > 1 ? std::atoi(argv[1]) : 1000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 200;
  int scrapes = argc > 3 ? std::max(1, std::atoi(argv[3])) : 200;
  int repeats = argc > 4 ? std::max(1, std::atoi(argv[4])) : 3;
  testing::Certificates certificates;
  certificates.issue("server", "IP:127.0.0.1");
  testing::RedisServer server(testing::RedisServer::Tls{
      certificates.file("server.pem"), certificates.file("server.key"), certificates.ca(), false});
  storage::RedisEndpoint plain = endpoint_of(server);
  storage::RedisEndpoint tls = tls_endpoint_of(server, certificates.ca());
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("# bench_redis_flush: plain TCP and TLS, %s\n\n", date);
  std::printf(
      "redis-server on 127.0.0.1:%d, TLS port %d; %d values per batch, %d batches; values/s, "
      "median of %d runs alternating plain and TLS\n\n",
      server.port(), server.tls_port(), series, rounds, repeats);
  std::printf("| writer | plain TCP | TLS | TLS / plain |\n|---|---:|---:|---:|\n");
  print_row("async pipelined flush (RedisFlusher)", async_values_per_second, plain, tls, series,
            rounds, repeats);
  print_row("blocking pipelined write_values", sync_values_per_second, plain, tls, series, rounds,
            repeats);
  std::printf("\n");
  collect_and_render(plain, scrapes);
  return 0;
}
