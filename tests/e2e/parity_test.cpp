// gunicorn-prometheus-exporter's metric names (issue 17): the per-worker restart counters and
// error_handling, with the exporter's labels, after the events that count them. Real binaries,
// real signals, a real redis-server.
#include <signal.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "metrics_support.hpp"

using namespace prefork::e2e;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

// What a fresh master exports for worker positions 1 and 2: every reason at 0, in all three
// per-worker restart counters (the exporter's label order is not the exposition's: sorted).
void check_restarts_at_zero(int metrics) {
  std::string text;
  INFO(text);
  CHECK(eventually([&] {
    text = scrape(metrics);
    for (const char* worker : {"1", "2"}) {
      std::string id = std::string("worker_id=\"") + worker + "\"";
      for (const char* reason : {"exited", "signaled", "timeout", "boot_error", "retired"}) {
        std::string labels = std::string("{reason=\"") + reason + "\"," + id + "}";
        if (!has_line(text, "gunicorn_worker_restart_total" + labels + " 0.0")) return false;
      }
      std::string forced = "{reason=\"signaled\",restart_type=\"forced\"," + id + "} 0.0";
      std::string graceful = "{reason=\"retired\",restart_type=\"graceful\"," + id + "} 0.0";
      for (const char* name :
           {"gunicorn_worker_restart_count_total", "gunicorn_master_worker_restart_count_total"}) {
        if (!has_line(text, name + forced) || !has_line(text, name + graceful)) return false;
      }
    }
    return true;
  }));
}

// A worker SIGKILLed: one signaled, forced restart under the killed worker's worker_id, in each
// counter, and nothing else counted.
void check_kill_counted(Prefork& prefork) {
  auto& [server, port, metrics] = prefork;
  pid_t victim = server.workers().front();
  REQUIRE(kill(victim, SIGKILL) == 0);
  std::string text;
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_restart_total") == 1 &&
           sum_of(text, "gunicorn_master_worker_restart_count_total") == 1;
  }));
  INFO(text);
  int counted = 0;
  for (const char* worker : {"1", "2"}) {
    std::string id = std::string("worker_id=\"") + worker + "\"";
    if (!has_line(text, "gunicorn_worker_restart_total{reason=\"signaled\"," + id + "} 1.0")) {
      continue;
    }
    ++counted;
    std::string labels = "{reason=\"signaled\",restart_type=\"forced\"," + id + "} 1.0";
    CHECK(has_line(text, "gunicorn_worker_restart_count_total" + labels));
    CHECK(has_line(text, "gunicorn_master_worker_restart_count_total" + labels));
  }
  CHECK(counted == 1);
  CHECK(sum_of(text, "gunicorn_worker_restart_count_total") == 1);
  CHECK(sum_of(text, "gunicorn_master_worker_restart_total", "reason=\"signaled\"") == 1);
}

// A handler that throws and a request that cannot be parsed, each one error_handling sample.
void check_errors_counted(int port, int metrics) {
  Reply thrown = http_get(port, "/throw");
  CHECK(thrown.status == 500);
  std::string bad = raw_exchange(port, "GET / HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n");
  CHECK(bad.compare(0, 12, "HTTP/1.1 400") == 0);
  const std::string name = "gunicorn_worker_error_handling_total";
  std::string text;
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, name) == 2;
  }));
  INFO(text);
  CHECK(
      sum_of(text, name,
             "{endpoint=\"other\",error_type=\"std::runtime_error\",method=\"GET\",worker_id=\"") ==
      1);
  CHECK(
      sum_of(text, name,
             "{endpoint=\"other\",error_type=\"invalid_request\",method=\"OTHER\",worker_id=\"") ==
      1);
  // The 500 and the 400 are failed requests too, as before.
  CHECK(sum_of(text, "gunicorn_worker_failed_requests_total") == 2);
}

}  // namespace

TEST_CASE("file storage: the exporter's restart counters start at 0 and count a SIGKILL") {
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 2);
  check_restarts_at_zero(prefork.metrics);
  check_kill_counted(prefork);
}

TEST_CASE("Redis storage: the exporter's restart counters start at 0 and count a SIGKILL") {
  RedisServer redis;
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", redis_config(redis)), 2);
  REQUIRE(prefork.server.wait_for_line("Metrics: storage redis").has_value());
  check_restarts_at_zero(prefork.metrics);
  check_kill_counted(prefork);
}

TEST_CASE("error_handling counts a handler's exception by its type, and a malformed request") {
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 1);
  check_errors_counted(prefork.port, prefork.metrics);
}

// Every sample name of the exporter's metrics (its metrics.py), as its dashboards and documented
// queries use them: all in one scrape once a request has failed.
TEST_CASE("a scrape holds every metric name of the exporter's") {
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 1);
  check_errors_counted(prefork.port, prefork.metrics);
  std::string text = scrape(prefork.metrics);
  INFO(text);
  for (const char* name :
       {"gunicorn_worker_requests_total", "gunicorn_worker_request_duration_seconds_bucket",
        "gunicorn_worker_request_duration_seconds_count",
        "gunicorn_worker_request_size_bytes_bucket", "gunicorn_worker_response_size_bytes_bucket",
        "gunicorn_worker_memory_bytes", "gunicorn_worker_cpu_percent",
        "gunicorn_worker_uptime_seconds", "gunicorn_worker_state",
        "gunicorn_worker_failed_requests_total", "gunicorn_worker_error_handling_total",
        "gunicorn_worker_restart_total", "gunicorn_worker_restart_count_total",
        "gunicorn_master_worker_restart_total", "gunicorn_master_worker_restart_count_total"}) {
    INFO(name);
    CHECK(text.find(std::string("\n") + name + "{") != std::string::npos);
  }
}

TEST_CASE("error_handling counts a handler's exception on a handler thread") {
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 1,
                  {"--worker-class", "threads", "--threads", "2"});
  check_errors_counted(prefork.port, prefork.metrics);
}
