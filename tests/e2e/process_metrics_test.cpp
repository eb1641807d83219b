// prometheus_client's process_* metrics of every worker and of the master, and
// prefork_build_info (issue 17): each name with values the test checks against the processes
// themselves, the CPU counter across a worker's death, and the same through Redis.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <prefork/version.hpp>
#include <string>

#include "metrics_support.hpp"

using namespace prefork::e2e;

namespace {

const char* const process_gauges[] = {"process_resident_memory_bytes",
                                      "process_virtual_memory_bytes", "process_start_time_seconds",
                                      "process_open_fds", "process_max_fds"};

std::string pid_label(pid_t pid) {
  return "pid=\"" + std::to_string(pid) + "\"";
}

std::string worker_label(const std::string& id) {
  return "worker_id=\"" + id + "\"";
}

double rlimit_nofile() {
  rlimit limit = {};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  return double(limit.rlim_cur);
}

// Every process_* gauge of the process pid, with what the test knows of it: started between
// earliest and latest (seconds since the epoch), the test's descriptor limit (inherited).
void check_process_gauges(const std::string& text, pid_t pid, double earliest, double latest) {
  INFO("pid ", pid);
  const std::string label = pid_label(pid);
  double resident = sum_of(text, "process_resident_memory_bytes", label);
  CHECK(resident > 0);
  CHECK(sum_of(text, "process_virtual_memory_bytes", label) >= resident);
  double started = sum_of(text, "process_start_time_seconds", label);
  // earliest and latest are time(), whole seconds: a second either way.
  CHECK(started >= earliest - 1);
  CHECK(started <= latest + 1);
  CHECK(sum_of(text, "process_open_fds", label) > 0);
  CHECK(sum_of(text, "process_max_fds", label) == rlimit_nofile());
}

void check_build_info(const std::string& text) {
  std::string sample = std::string("prefork_build_info{abi=\"") +
                       std::to_string(prefork::abi_version) + "\",version=\"" + prefork::version +
                       "\"} 1.0\n";
  CHECK(text.find(sample) != std::string::npos);
}

}  // namespace

TEST_CASE("file storage: process_* of the master and each worker, prefork_build_info") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  double before = double(std::time(nullptr));
  Prefork prefork(config, 2);
  double booted = double(std::time(nullptr));
  auto& [server, port, metrics] = prefork;
  std::vector<pid_t> workers = server.workers();
  REQUIRE(workers.size() == 2);

  std::string text;
  // Each worker's first reading is stored as it boots; the endpoint may answer before, with the
  // gauges registered at 0. process_max_fds is the last gauge a reading sets.
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    for (pid_t pid : workers) {
      if (sum_of(text, "process_max_fds", pid_label(pid)) <= 0) return false;
    }
    return true;
  }));
  INFO(text);
  CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  for (const char* gauge : process_gauges) {
    CHECK(text.find(std::string("# TYPE ") + gauge + " gauge\n") != std::string::npos);
  }
  check_process_gauges(text, server.pid(), before, booted);
  CHECK(sum_of(text, "process_open_fds", worker_label("master")) > 0);
  CHECK(sum_of(text, "process_cpu_seconds_total", worker_label("master")) > 0);
  for (pid_t pid : workers) check_process_gauges(text, pid, before, booted);
  for (const char* id : {"1", "2"}) {
    CHECK(sum_of(text, "process_cpu_seconds_total", worker_label(id)) >= 0);
    CHECK(sum_of(text, "process_resident_memory_bytes", worker_label(id)) > 0);
    CHECK(sum_of(text, "gunicorn_worker_cpu_percent", worker_label(id)) >= 0);
  }
  check_build_info(text);
}

TEST_CASE("file storage: CPU seconds grow under load and never go back when a worker is killed") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  const std::string worker = worker_label("1");
  double idle = -1;
  REQUIRE(eventually([&] {
    idle = sum_of(scrape(metrics), "process_cpu_seconds_total", worker);
    return idle >= 0;
  }));

  Load load(port, 4);
  REQUIRE(eventually([&] { return load.answered() > 2000; }, std::chrono::seconds(60)));
  load.stop();
  double loaded = -1;
  // The worker reads its CPU time every second.
  CHECK(eventually([&] {
    loaded = sum_of(scrape(metrics), "process_cpu_seconds_total", worker);
    return loaded > idle;
  }));

  pid_t victim = server.workers().front();
  kill(victim, SIGKILL);
  REQUIRE(eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 1 && now.front() != victim;
  }));
  pid_t successor = server.workers().front();
  std::string text;
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "process_max_fds", pid_label(successor)) > 0;
  }));
  INFO(text);
  // The dead worker's CPU time stays in its worker_id's counter; its gauges went with it.
  CHECK(sum_of(text, "process_cpu_seconds_total", worker) >= loaded);
  CHECK(text.find(pid_label(victim)) == std::string::npos);
  CHECK(sum_of(text, "process_resident_memory_bytes", worker) ==
        sum_of(text, "process_resident_memory_bytes", pid_label(successor)));
}

TEST_CASE("Redis storage: process_* of the master and each worker, prefork_build_info") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  double before = double(std::time(nullptr));
  Prefork prefork(config, 2);
  double booted = double(std::time(nullptr));
  auto& [server, port, metrics] = prefork;
  REQUIRE(server.wait_for_line("Metrics: storage redis").has_value());
  std::vector<pid_t> workers = server.workers();
  REQUIRE(workers.size() == 2);

  std::string text;
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    if (sum_of(text, "process_max_fds", pid_label(server.pid())) <= 0) return false;
    for (pid_t pid : workers) {
      if (sum_of(text, "process_max_fds", pid_label(pid)) <= 0) return false;
    }
    return true;
  }));
  INFO(text);
  check_process_gauges(text, server.pid(), before, booted);
  for (pid_t pid : workers) check_process_gauges(text, pid, before, booted);
  CHECK(sum_of(text, "process_cpu_seconds_total", worker_label("master")) > 0);
  check_build_info(text);
}
