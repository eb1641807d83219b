// Faults of the metrics storage under a running server (issue 10): a frozen Redis must not
// freeze the master, restart churn must not leak descriptors into workers, and the logs say
// what really happened. Real binaries, a real redis-server, real signals.
#include <signal.h>
#include <sys/resource.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "metrics_support.hpp"

using namespace prefork::e2e;

namespace {

// Thaws a frozen Redis when the test ends, however it ends.
struct Frozen {
  explicit Frozen(RedisServer& redis) : redis(redis) { redis.freeze(); }
  ~Frozen() { redis.thaw(); }
  RedisServer& redis;
};

// Lowers this process's descriptor limit, so that the server started meanwhile inherits it;
// the old limit comes back at the end of the scope.
class FdLimit {
 public:
  explicit FdLimit(rlim_t limit) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(limit, saved_.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~FdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

template <class Action>
Clock::duration time_of(Action action) {
  auto start = Clock::now();
  action();
  return Clock::now() - start;
}

}  // namespace

TEST_CASE("Redis frozen: killed workers come back at once, /health and /metrics stay bounded") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis, "scrape_timeout = 1\n"));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  int answered = send_requests(port, 20);
  REQUIRE(answered == 20);
  REQUIRE(!scrape(metrics).empty());

  Frozen frozen(redis);
  std::vector<pid_t> killed = server.workers();
  for (pid_t worker : killed) kill(worker, SIGKILL);
  auto replaced = time_of([&] {
    eventually([&] {
      std::vector<pid_t> now = server.workers();
      return now.size() == 2 && all_replaced(now, killed);
    });
  });
  MESSAGE("both workers replaced after ", replaced / 1ms, " ms");
  CHECK(replaced < 500ms);
  answered += send_requests(port, 10);
  CHECK(answered == 30);

  Reply health;
  auto health_time = time_of([&] { health = http_get(metrics, "/health"); });
  MESSAGE("/health answered in ", health_time / 1ms, " ms");
  CHECK(health_time < 100ms);
  CHECK(health.status == 503);
  Reply scraped;
  auto scrape_time = time_of([&] { scraped = http_get(metrics, "/metrics"); });
  MESSAGE("/metrics answered in ", scrape_time / 1ms, " ms");
  CHECK(scrape_time < 1500ms);
  CHECK(scraped.status == 503);

  redis.thaw();
  // Nothing counted while Redis was frozen is lost, the killed workers' values included.
  CHECK(eventually(
      [&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == double(answered); },
      20s));
  CHECK(http_get(metrics, "/health").status == 200);
}

TEST_CASE("restart churn under a low fd limit: no failed request, no worker inherits fds") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", "max_requests = 1\n" + redis_config(redis));
  FdLimit limit(128);
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;

  // 600 restarts, over four times the fd limit: a descriptor inherited per dead worker would
  // run out. (Under ASan a restart takes some 65 ms: 600 keep the test well within its time.)
  Load load(port, 4);
  std::size_t most_fds = 0;
  bool churned = eventually(
      [&] {
        for (pid_t worker : server.workers()) most_fds = std::max(most_fds, open_fd_count(worker));
        return load.answered() >= 600;
      },
      90s);
  load.stop();
  MESSAGE("answered ", load.answered(), ", failed ", load.failed(), ", most fds in a worker ",
          most_fds);
  CHECK(churned);
  CHECK(load.failed() == 0);
  CHECK(most_fds <= 64);
  // Every reaped worker's values reach the archive soon after the load stops: the master
  // retires the workers reaped meanwhile in one batch, so its cleanup never falls behind.
  double counted = 0;
  auto stopped = std::chrono::steady_clock::now();
  CHECK(eventually(
      [&] {
        counted = sum_of(scrape(metrics), "gunicorn_worker_requests_total");
        return counted == double(load.answered());
      },
      30s));
  MESSAGE("counted ", counted, " of ", load.answered(), " ",
          (std::chrono::steady_clock::now() - stopped) / 1ms, " ms after the load");
}

TEST_CASE("Redis gone: the storage is not said to work again until it does") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  REQUIRE(send_requests(port, 5) == 5);
  redis.kill();
  // Scrapes, health checks and the write lane's retries (every second) all fail meanwhile.
  REQUIRE(server.wait_for_line("Metrics storage: ", 10s).has_value());
  for (int i = 0; i < 3; ++i) {
    CHECK(http_get(metrics, "/metrics").status == 503);
    CHECK(http_get(metrics, "/health").status == 503);
    std::this_thread::sleep_for(1s);  // the retry period is the thing being observed
  }
  INFO(server.log());
  CHECK(server.count_lines("working again") == 0);
  redis.restart();
  CHECK(server.wait_for_line("Metrics storage: working again", 10s).has_value());
}

TEST_CASE("TERM twice while the storage drains: the master says it shuts down once") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 1);
  auto& server = prefork.server;
  REQUIRE(send_requests(prefork.port, 3) == 3);
  Frozen frozen(redis);
  server.signal(SIGTERM);
  // The master now waits (up to command_timeout) for its last writes to the frozen Redis.
  REQUIRE(server.wait_for_line("Shutting down: Master").has_value());
  server.signal(SIGTERM);
  std::optional<int> exit_code = server.wait_exit(20s);
  INFO(server.log());
  CHECK(exit_code == 0);
  CHECK(server.count_lines("Shutting down: Master") == 1);
}
