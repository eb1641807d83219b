// prometheus_client itself (the copy in ../shared/pyclient) reads what we write and writes what
// we read; both renderings must be byte-identical.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>

#include <prefork/metrics.hpp>

#include "file_fixture.hpp"
#include "metrics/exposition.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"
#include "support/skip.hpp"

using namespace prefork;
using file_test::TemporaryDirectory;

namespace {

// Renders a directory with prometheus_client: MultiProcessCollector.merge over the files in
// sorted order (its collect() globs in directory order), then generate_latest.
const char* render_script = R"(
import glob, os, sys
from prometheus_client import generate_latest, multiprocess

class SortedFiles:
    def collect(self):
        files = sorted(glob.glob(os.path.join(sys.argv[1], '*.db')))
        return multiprocess.MultiProcessCollector.merge(files, accumulate=True)

sys.stdout.buffer.write(generate_latest(SortedFiles()))
)";

// Writes metrics with prometheus_client in multiprocess mode from three forked processes.
const char* write_script = R"(
import os, sys
os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary

def work(index):
    registry = CollectorRegistry()
    requests = Counter('py_requests_total', 'Requests "q" \\ back\nslash', ['method', 'path'],
                       registry=registry)
    requests.labels('GET', '/caf\u00e9 "x"\n\\').inc(index + 1)
    requests.labels('POST', '/\U0001F600').inc(0.5)
    Counter('py_plain', 'No labels.', registry=registry).inc(3)
    for mode in ('all', 'liveall', 'min', 'livemin', 'max', 'livemax', 'sum', 'livesum',
                 'mostrecent', 'livemostrecent'):
        gauge = Gauge('py_gauge_' + mode, 'Gauge ' + mode, ['kind'], registry=registry,
                      multiprocess_mode=mode)
        gauge.labels('a').set(index * 10 - 5)
    Gauge('py_never', 'Never set.', registry=registry, multiprocess_mode='mostrecent')
    latency = Histogram('py_latency_seconds', 'Latency.', ['route'], registry=registry)
    for value in (0.001, 0.3, 2.0, 100.0):
        latency.labels('/').observe(value * (index + 1))
    custom = Histogram('py_size_bytes', 'Size.', registry=registry,
                       buckets=(100, 1000.0, 1e6, 1234567))
    custom.observe(5000 * index)
    Summary('py_work_seconds', 'Work.', registry=registry).observe(0.25 * index)

for index in range(3):
    pid = os.fork()
    if pid == 0:
        work(index)
        os._exit(0)
    os.waitpid(pid, 0)
)";

struct Python {
  std::string client;
  TemporaryDirectory scripts;

  // Skips the whole executable when the client cannot run.
  void require() {
    client = file_test::pyclient_path();
    if (client.empty()) {
      prefork::testing::skip_test(
          "prometheus_client copy not found (set PREFORK_PYCLIENT, default "
          "<source root>/../shared/pyclient) or python3 missing");
    }
  }

  int run(const char* script, const std::string& directory, std::string& output) {
    const std::string path = scripts.path() + "/script.py";
    file_test::write_file(path, script);
    return file_test::run("PYTHONPATH='" + client + "' python3 '" + path + "' '" + directory + "'",
                          output);
  }
};

std::string render_ours(const std::string& directory) {
  storage::file::FileCollector collector(directory);
  const std::string text = metrics::render_text(collector.collect());
  CHECK(collector.errors().empty());
  return text;
}

// The same metrics as write_script, written by us, in processes named like pids.
void write_ours(const std::string& directory, int index) {
  metrics::Registry registry(
      std::make_unique<storage::file::FileStore>(directory, std::to_string(1000 + index)));
  auto& requests =
      registry.counter("py_requests_total", "Requests \"q\" \\ back\nslash", {"method", "path"});
  requests.labels({"GET", "/caf\xc3\xa9 \"x\"\n\\"}).inc(index + 1);
  requests.labels({"POST", "/\xf0\x9f\x98\x80"}).inc(0.5);
  registry.counter("py_plain", "No labels.").inc(3);
  for (const char* mode : {"all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum",
                           "mostrecent", "livemostrecent"}) {
    registry.gauge(std::string("py_gauge_") + mode, std::string("Gauge ") + mode, {"kind"}, mode)
        .labels({"a"})
        .set(index * 10 - 5);
  }
  registry.gauge("py_never", "Never set.", {}, "mostrecent");
  auto& latency = registry.histogram("py_latency_seconds", "Latency.", {"route"});
  for (double value : {0.001, 0.3, 2.0, 100.0}) latency.labels({"/"}).observe(value * (index + 1));
  registry.histogram("py_size_bytes", "Size.", {}, {100, 1000.0, 1e6, 1234567})
      .observe(5000 * index);
  registry.summary("py_work_seconds", "Work.").observe(0.25 * index);
}

}  // namespace

TEST_CASE("prometheus_client renders our files exactly as we do") {
  Python python;
  python.require();
  TemporaryDirectory directory;
  for (int index = 0; index < 3; ++index) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      write_ours(directory.path(), index);
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  std::string theirs;
  REQUIRE_MESSAGE(python.run(render_script, directory.path(), theirs) == 0, theirs);
  const std::string ours = render_ours(directory.path());
  CHECK(ours.find("py_requests_total{method=\"GET\",path=\"/caf\xc3\xa9 \\\"x\\\"\\n\\\\\"} 6.0") !=
        std::string::npos);
  CHECK(ours == theirs);
}

TEST_CASE("we render prometheus_client's files exactly as it does") {
  Python python;
  python.require();
  TemporaryDirectory directory;
  std::string output;
  REQUIRE_MESSAGE(python.run(write_script, directory.path(), output) == 0, output);
  std::string theirs;
  REQUIRE_MESSAGE(python.run(render_script, directory.path(), theirs) == 0, theirs);
  const std::string ours = render_ours(directory.path());
  CHECK(ours.find("# HELP py_never") != std::string::npos);
  CHECK(ours.find("py_size_bytes_bucket{le=\"1.234567e+06\"}") != std::string::npos);
  CHECK(ours == theirs);
}

TEST_CASE("after cleanup_dead_worker prometheus_client still reads the same totals") {
  Python python;
  python.require();
  TemporaryDirectory directory;
  std::string output;
  REQUIRE_MESSAGE(python.run(write_script, directory.path(), output) == 0, output);
  std::string before;
  REQUIRE(python.run(render_script, directory.path(), before) == 0);

  storage::file::FileCollector collector(directory.path());
  std::vector<std::string> processes;
  for (const auto& values : collector.read()) {
    if (std::find(processes.begin(), processes.end(), values.process) == processes.end()) {
      processes.push_back(values.process);
    }
  }
  REQUIRE(processes.size() == 3);
  for (const auto& process : processes) REQUIRE(collector.cleanup_dead_worker(process));

  std::string after;
  REQUIRE_MESSAGE(python.run(render_script, directory.path(), after) == 0, after);
  CHECK(render_ours(directory.path()) == after);
  // Counters, histograms, summaries and folded gauges are unchanged; live gauges are gone.
  for (const char* unchanged :
       {"py_requests_total{method=\"POST\",path=\"/\xf0\x9f\x98\x80\"} 1.5\n",
        "py_latency_seconds_count{route=\"/\"} 12.0\n", "py_work_seconds_sum 0.75\n",
        "py_gauge_min{kind=\"a\"} -5.0\n", "py_gauge_max{kind=\"a\"} 15.0\n",
        "py_gauge_sum{kind=\"a\"} 15.0\n", "py_gauge_mostrecent{kind=\"a\"} 15.0\n"}) {
    CHECK_MESSAGE(before.find(unchanged) != std::string::npos, unchanged);
    CHECK_MESSAGE(after.find(unchanged) != std::string::npos, unchanged);
  }
  CHECK(before.find("py_gauge_livesum{kind=\"a\"}") != std::string::npos);
  CHECK(after.find("py_gauge_livesum{kind=\"a\"}") == std::string::npos);
  CHECK(after.find("# TYPE py_gauge_livesum gauge") == std::string::npos);
}
