// Cost of the metric write path (ns per operation, 10M operations each) and of a scrape of
// file storage: collect (read + aggregate) and render for 16 processes × 200 stored values.
//
//   bench_metrics [operations] [processes] [values per process]
#include <prefork/metrics.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/slot.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"

using namespace prefork;
using Clock = std::chrono::steady_clock;

namespace {

double nanoseconds_per_operation(long operations, const std::function<void(long)>& loop) {
  const auto start = Clock::now();
  loop(operations);
  const auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  return elapsed / double(operations);
}

// One process's values: 100 counter series, 60 gauge series, 2 histogram label sets (16
// values each) and 4 summaries (2 values each): 200 stored values.
void fill_process(const std::string& directory, int process) {
  metrics::Registry registry(
      std::make_unique<storage::file::FileStore>(directory, std::to_string(100000 + process)));
  auto& requests = registry.counter("bench_requests_total", "Requests.", {"path"});
  for (int i = 0; i < 100; ++i) requests.labels({"/path/" + std::to_string(i)}).inc(i + process);
  auto& inflight = registry.gauge("bench_inflight", "In flight.", {"pool"}, "livesum");
  for (int i = 0; i < 60; ++i) inflight.labels({"pool" + std::to_string(i)}).set(i);
  auto& latency = registry.histogram("bench_latency_seconds", "Latency.", {"method"});
  for (const char* method : {"GET", "POST"}) latency.labels({method}).observe(0.02 * process);
  auto& size = registry.summary("bench_size_bytes", "Size.", {"kind"});
  for (int i = 0; i < 4; ++i) size.labels({"k" + std::to_string(i)}).observe(100);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const long operations = argc > 1 ? std::atol(argv[1]) : 10'000'000;
  const int processes = argc > 2 ? std::atoi(argv[2]) : 16;

  metrics::Registry registry(std::make_unique<metrics::SlotStore>(metrics::create_slot(), "1"));
  auto& counter = registry.counter("c_total", "C.", {"method"});
  auto& child = counter.labels({"GET"});
  auto& gauge = registry.gauge("g", "G.");
  auto& histogram = registry.histogram("h_seconds", "H.");
  auto& summary = registry.summary("s", "S.");

  std::printf("| operation | ns/op |\n|---|---|\n");
  std::printf("| counter child inc() | %.1f |\n",
              nanoseconds_per_operation(operations, [&](long n) {
                for (long i = 0; i < n; ++i) child.inc();
              }));
  std::printf("| counter labels({\"GET\"}).inc() | %.1f |\n",
              nanoseconds_per_operation(operations, [&](long n) {
                for (long i = 0; i < n; ++i) counter.labels({"GET"}).inc();
              }));
  std::printf("| gauge set() | %.1f |\n", nanoseconds_per_operation(operations, [&](long n) {
                for (long i = 0; i < n; ++i) gauge.set(double(i));
              }));
  std::printf("| histogram observe() (default buckets) | %.1f |\n",
              nanoseconds_per_operation(operations, [&](long n) {
                for (long i = 0; i < n; ++i) histogram.observe(double(i % 1000) * 0.001);
              }));
  std::printf("| summary observe() | %.1f |\n", nanoseconds_per_operation(operations, [&](long n) {
                for (long i = 0; i < n; ++i) summary.observe(0.25);
              }));

  char pattern[] = "/tmp/prefork-bench-metrics-XXXXXX";
  const std::string directory = mkdtemp(pattern);
  for (int process = 0; process < processes; ++process) fill_process(directory, process);

  storage::file::FileCollector collector(directory);
  std::vector<double> collect_times, render_times, gzip_times;
  std::size_t text_size = 0, gzip_size = 0, values = 0;
  for (int run = 0; run < 21; ++run) {
    auto start = Clock::now();
    const auto read = collector.read();
    const auto families = metrics::aggregate(read);
    collect_times.push_back(milliseconds_since(start));
    start = Clock::now();
    const std::string text = metrics::render_text(families);
    render_times.push_back(milliseconds_since(start));
    start = Clock::now();
    std::string compressed;
    metrics::gzip(text, compressed);
    gzip_times.push_back(milliseconds_since(start));
    text_size = text.size();
    gzip_size = compressed.size();
    values = 0;
    for (const auto& process : read) values += process.values.size();
  }
  std::filesystem::remove_all(directory);

  std::printf(
      "\n| scrape of %d processes, %zu stored values (files) | ms (median of 21) |\n"
      "|---|---|\n",
      processes, values);
  std::printf("| collect (read + aggregate) | %.2f |\n", median(collect_times));
  std::printf("| render text (%zu bytes) | %.2f |\n", text_size, median(render_times));
  std::printf("| collect + render | %.2f |\n", median(collect_times) + median(render_times));
  std::printf("| gzip (%zu bytes) | %.2f |\n", gzip_size, median(gzip_times));
  return 0;
}
