#include <doctest/doctest.h>
#include <sys/wait.h>

#include <prefork/metrics.hpp>

#include "file_fixture.hpp"
#include "metrics/exposition.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"

using namespace prefork;
using file_test::TemporaryDirectory;

namespace {

// What each worker process records: 100 * (index + 1) requests, and gauges of several modes.
void record(const std::string& directory, int index) {
  metrics::Registry registry(
      std::make_unique<storage::file::FileStore>(directory, std::to_string(getpid())));
  auto& requests = registry.counter("requests_total", "Requests.", {"method"}).labels({"GET"});
  for (int i = 0; i < 100 * (index + 1); ++i) requests.inc();
  registry.gauge("inflight", "In flight.", {}, "livesum").set(index + 1);
  registry.gauge("peak", "Peak.", {}, "max").set(10 * (index + 1));
  registry.gauge("memory", "Memory.", {}, "all").set(index);
  auto& latency = registry.histogram("latency_seconds", "Latency.", {}, {0.1, 1});
  latency.observe(0.05);
  latency.observe(0.5);
  registry.summary("size_bytes", "Size.").observe(100);
}

std::vector<pid_t> run_workers(const std::string& directory, int count) {
  std::vector<pid_t> pids;
  for (int index = 0; index < count; ++index) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      record(directory, index);
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  return pids;
}

double value_of(const std::vector<metrics::Family>& families, const std::string& sample,
                const std::string& label = "", const std::string& label_value = "") {
  for (const auto& family : families) {
    for (const auto& candidate : family.samples) {
      if (candidate.name != sample) continue;
      if (label.empty()) return candidate.value;
      for (const auto& [name, value] : candidate.labels) {
        if (name == label && value == label_value) return candidate.value;
      }
    }
  }
  return -1;
}

int series_of(const std::vector<metrics::Family>& families, const std::string& sample) {
  int count = 0;
  for (const auto& family : families) {
    for (const auto& candidate : family.samples) count += candidate.name == sample;
  }
  return count;
}

}  // namespace

TEST_CASE("the collector aggregates what forked processes wrote") {
  TemporaryDirectory directory;
  run_workers(directory.path(), 3);
  storage::file::FileCollector collector(directory.path());
  const auto families = collector.collect();
  CHECK(collector.errors().empty());
  CHECK(value_of(families, "requests_total") == 600);
  CHECK(value_of(families, "inflight") == 6);
  CHECK(value_of(families, "peak") == 30);
  CHECK(series_of(families, "memory") == 3);
  CHECK(value_of(families, "latency_seconds_bucket", "le", "0.1") == 3);
  CHECK(value_of(families, "latency_seconds_bucket", "le", "1.0") == 6);
  CHECK(value_of(families, "latency_seconds_count") == 6);
  CHECK(value_of(families, "size_bytes_count") == 3);
  CHECK(value_of(families, "size_bytes_sum") == 300);
}

TEST_CASE("cleanup_dead_worker keeps totals, drops live gauges, bounds the file count") {
  TemporaryDirectory directory;
  storage::file::FileCollector collector(directory.path());
  // Five generations of two workers each: the file count must not grow with them.
  std::size_t files_after_first = 0;
  for (int generation = 0; generation < 5; ++generation) {
    const auto pids = run_workers(directory.path(), 2);
    for (pid_t pid : pids) REQUIRE(collector.cleanup_dead_worker(std::to_string(pid)));
    CHECK(collector.errors().empty());
    const auto families = collector.collect();
    CHECK(value_of(families, "requests_total") == 300 * (generation + 1));
    CHECK(value_of(families, "latency_seconds_count") == 4 * (generation + 1));
    CHECK(value_of(families, "peak") == 20);
    // Live gauges of the dead are gone; all-mode gauges stay per pid, as in prometheus_client.
    CHECK(value_of(families, "inflight") == -1);
    CHECK(series_of(families, "memory") == 2 * (generation + 1));
    const std::size_t archives_and_all =
        directory.files().size() - std::size_t(2 * (generation + 1));
    if (generation == 0) files_after_first = archives_and_all;
    CHECK(archives_and_all == files_after_first);
  }
  CHECK(directory.has("counter_archive.db"));
  CHECK(directory.has("gauge_max_archive.db"));
  CHECK_FALSE(directory.has("gauge_livesum_archive.db"));
}

TEST_CASE("mark_process_dead, as prometheus_client's: only live gauge files go, totals stay") {
  TemporaryDirectory directory;
  storage::file::FileCollector collector(directory.path());
  const auto pids = run_workers(directory.path(), 2);
  for (pid_t pid : pids) REQUIRE(collector.mark_process_dead(std::to_string(pid)));
  CHECK(collector.errors().empty());
  const auto families = collector.collect();
  CHECK(value_of(families, "requests_total") == 300);
  CHECK(value_of(families, "latency_seconds_count") == 4);
  CHECK(value_of(families, "inflight") == -1);
  for (pid_t pid : pids) {
    CHECK(directory.has("counter_" + std::to_string(pid) + ".db"));
    CHECK_FALSE(directory.has("gauge_livesum_" + std::to_string(pid) + ".db"));
  }
  CHECK_FALSE(directory.has("counter_archive.db"));
}

TEST_CASE("a live process's values are untouched by another's cleanup") {
  TemporaryDirectory directory;
  metrics::Registry live(std::make_unique<storage::file::FileStore>(directory.path(), "1"));
  live.counter("c", "C.").inc(5);
  live.gauge("g", "G.", {}, "livesum").set(2);
  storage::file::FileCollector collector(directory.path());
  CHECK(collector.cleanup_dead_worker("2"));
  const auto families = collector.collect();
  CHECK(value_of(families, "c_total") == 5);
  CHECK(value_of(families, "g") == 2);
}

TEST_CASE("corrupted and misnamed files are reported and skipped; the rest is served") {
  TemporaryDirectory directory;
  {
    metrics::Registry registry(std::make_unique<storage::file::FileStore>(directory.path(), "1"));
    registry.counter("c", "C.").inc(5);
  }
  file_test::write_file(directory.path() + "/counter_2.db", std::string("\xff\x00\x00\x00", 4));
  file_test::write_file(directory.path() + "/notes.db", "hello");
  storage::file::FileCollector collector(directory.path());
  const auto families = collector.collect();
  CHECK(value_of(families, "c_total") == 5);
  REQUIRE(collector.errors().size() == 2);
  CHECK(collector.errors()[0].find("counter_2.db") != std::string::npos);
  CHECK(collector.errors()[1].find("notes.db") != std::string::npos);
  // A corrupted file of a dead process is not deleted: nothing is lost silently.
  CHECK_FALSE(collector.cleanup_dead_worker("2"));
  CHECK(directory.has("counter_2.db"));
}

TEST_CASE("a missing directory is an error, not a crash") {
  storage::file::FileCollector collector("/nonexistent/prefork-metrics");
  CHECK(collector.collect().empty());
  REQUIRE(collector.errors().size() == 1);
  CHECK(collector.errors()[0].find("/nonexistent/prefork-metrics") != std::string::npos);
}

TEST_CASE("two masters sharing a directory (a USR2 upgrade) fold into the archive together") {
  TemporaryDirectory directory;
  constexpr int rounds = 1000;
  // Each child is a master that folds dead workers of its own, each with a series no one had
  // before (so both append to the archive) and one they all share.
  std::vector<pid_t> masters;
  for (int master = 0; master < 2; ++master) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      storage::file::FileCollector collector(directory.path());
      for (int round = 0; round < rounds; ++round) {
        std::string process = std::to_string(master) + "-" + std::to_string(round);
        {
          metrics::Registry registry(
              std::make_unique<storage::file::FileStore>(directory.path(), process));
          registry.counter("shared", "Shared.").inc();
          registry.counter("own_" + std::to_string(master) + "_" + std::to_string(round), "Own.")
              .inc();
        }
        if (!collector.cleanup_dead_worker(process)) _exit(1);
      }
      _exit(0);
    }
    masters.push_back(pid);
  }
  for (pid_t pid : masters) {
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  storage::file::FileCollector collector(directory.path());
  const auto families = collector.collect();
  CHECK(collector.errors().empty());
  CHECK(value_of(families, "shared_total") == 2 * rounds);
  CHECK(families.size() == 1 + 2 * rounds);
  CHECK(directory.files().size() == 1);
}
