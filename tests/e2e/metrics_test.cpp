// Metrics in the server (issue 5): storage selection, the master's /metrics and /health,
// cleanup after dead workers, several instances on one Redis. Real binaries, a real
// redis-server, real sockets and signals.
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics_support.hpp"
#include "support/certificates.hpp"

using namespace prefork::e2e;
using prefork::testing::Certificates;

TEST_CASE("file storage: /metrics counts every request, /health reports files") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  CHECK(server.wait_for_line("Metrics: storage file in /tmp/prefork-metrics-").has_value());

  REQUIRE(send_requests(port, 50) == 50);
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_requests_total") == 50 &&
           sum_of(text, "gunicorn_worker_request_duration_seconds_count") == 50;
  }));
  INFO(text);
  CHECK(sum_of(text, "gunicorn_master_workers") == 2);
  CHECK(sum_of(text, "gunicorn_master_storage_degraded") == 0);

  Reply plain = http_get(metrics, "/metrics");
  CHECK(plain.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") !=
        std::string::npos);
  Reply health = http_get(metrics, "/health");
  CHECK(health.status == 200);
  CHECK(health.body.find("\"storage\": \"file\"") != std::string::npos);
  CHECK(health.body.find("\"redis_connected\": false") != std::string::npos);
  CHECK(http_get(metrics, "/nothing").status == 404);
}

TEST_CASE("gzip is served when asked for") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  // A body of some size: the worker's metrics are stored, not just the master's.
  REQUIRE(send_requests(port, 3) == 3);
  REQUIRE(
      eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 3; }));
  Reply plain = http_get(metrics, "/metrics");
  Reply packed = http_get_with_headers(metrics, "/metrics", "Accept-Encoding: gzip\r\n");
  REQUIRE(plain.ok);
  REQUIRE(packed.ok);
  CHECK(plain.head.find("Content-Encoding") == std::string::npos);
  CHECK(packed.head.find("Content-Encoding: gzip") != std::string::npos);
  // The gzip magic number, and a body smaller than the text it packs.
  REQUIRE(packed.body.size() > 2);
  CHECK(std::uint8_t(packed.body[0]) == 0x1f);
  CHECK(std::uint8_t(packed.body[1]) == 0x8b);
  CHECK(packed.body.size() < plain.body.size());
}

// The metric files a process holds open in directory: whatever /proc/PID/fd links into it.
static std::vector<std::string> metric_files_held(pid_t pid, const std::string& directory) {
  std::vector<std::string> held;
  for (const auto& [fd, path] : fd_targets(pid)) {
    if (path.rfind(directory + "/", 0) == 0) held.push_back(path.substr(directory.size() + 1));
  }
  return held;
}

TEST_CASE("a worker holds its own metric files only, never the master's") {
  TempDir directory;
  std::string files = directory.file("metrics");
  REQUIRE(mkdir(files.c_str(), 0700) == 0);
  std::string config =
      directory.write("prefork.toml", file_config("multiproc_dir = \"" + files + "\"\n"));
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  REQUIRE(send_requests(server.port(), 4) == 4);
  // The master's own gauge file exists before its workers are forked: each would inherit it.
  std::string master_suffix = "_" + std::to_string(server.pid()) + ".db";
  std::vector<std::string> master_files = metric_files_held(server.pid(), files);
  INFO("master holds " << master_files.size() << " metric files");
  CHECK_FALSE(master_files.empty());
  for (pid_t worker : server.workers()) {
    std::string own = "_" + std::to_string(worker) + ".db";
    for (const std::string& name : metric_files_held(worker, files)) {
      INFO("worker " << worker << " holds " << name);
      CHECK(name.size() > own.size());
      CHECK(name.compare(name.size() - own.size(), own.size(), own) == 0);
    }
  }
}

TEST_CASE("the metrics listener stays in the master: workers never hold it") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::string inode = listening_inode(metrics);
  REQUIRE_FALSE(inode.empty());
  CHECK(holds_socket(server.pid(), inode));
  // A new worker holds the master's descriptors from fork until it has left the master's loop.
  for (pid_t worker : server.workers())
    CHECK(eventually([&] { return !holds_socket(worker, inode); }));
  // A worker forked later (after a SIGKILL) lets it go too.
  REQUIRE(server.kill_a_worker_and_await_its_replacement() != 0);
  for (pid_t worker : server.workers())
    CHECK(eventually([&] { return !holds_socket(worker, inode); }));
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_master_worker_restart_total") == 1;
  }));
  INFO(text);
  CHECK(text.find("gunicorn_master_worker_restart_total{reason=\"signaled\"} 1.0") !=
        std::string::npos);
}

// Each reason is exported from the start: increase() and rate() need a sample before the first
// restart, or workers all killed within one scrape interval (an OOM) would show as 0 restarts.
static void check_restart_reasons_at_zero(int metrics) {
  std::string text;
  INFO(text);
  CHECK(eventually([&] {
    text = scrape(metrics);
    for (const char* reason : {"exited", "signaled", "timeout", "boot_error", "retired"}) {
      std::string sample =
          std::string("gunicorn_master_worker_restart_total{reason=\"") + reason + "\"} 0.0\n";
      if (text.find(sample) == std::string::npos) return false;
    }
    return true;
  }));
}

TEST_CASE("file storage: a fresh master exports every restart reason at 0") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 1);
  check_restart_reasons_at_zero(prefork.metrics);
}

TEST_CASE("Redis storage: a fresh master exports every restart reason at 0") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 1);
  REQUIRE(prefork.server.wait_for_line("Metrics: storage redis").has_value());
  check_restart_reasons_at_zero(prefork.metrics);
}

TEST_CASE("metrics off: no endpoint") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", "[metrics]\nenabled = false\nport = 0\n");
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_line("Metrics: off").has_value());
  CHECK(server.count_lines("Metrics listening at") == 0);
  CHECK(http_get(port, "/").status == 200);
}

TEST_CASE("Redis storage: /metrics counts every request and no .db file is made") {
  RedisServer redis;
  TempDir directory;
  std::string multiproc = directory.file("multiproc");
  REQUIRE(mkdir(multiproc.c_str(), 0700) == 0);
  std::string config = directory.write(
      "prefork.toml", redis_config(redis, "multiproc_dir = \"" + multiproc + "\"\n"));
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"});
  int port = server.port();
  REQUIRE(port > 0);
  int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  REQUIRE(server.wait_for_line("Metrics: storage redis").has_value());
  REQUIRE(server.wait_for_worker_count(2));

  REQUIRE(send_requests(port, 60) == 60);
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_requests_total") == 60 &&
           sum_of(text, "gunicorn_worker_request_duration_seconds_count") == 60;
  }));
  INFO(text);
  CHECK(eventually([&] { return sum_of(scrape(metrics), "gunicorn_master_workers") == 2; }));
  CHECK(sum_of(scrape(metrics), "gunicorn_master_storage_degraded") == 0);
  CHECK(files_in(multiproc).empty());
  Reply health = http_get(metrics, "/health");
  CHECK(health.status == 200);
  CHECK(health.body.find("\"storage\": \"redis\"") != std::string::npos);
  CHECK(health.body.find("\"redis_connected\": true") != std::string::npos);

  redis.kill();
  Reply down = http_get(metrics, "/health");
  CHECK(down.status == 503);
  CHECK(down.body.find("\"redis_connected\": false") != std::string::npos);
}

TEST_CASE("Redis storage as an ACL user from a URL with a percent-encoded password") {
  RedisServer redis;
  REQUIRE(redis.add_user("metrics", "p/#?@%:w"));
  TempDir directory;
  std::string config = directory.write(
      "prefork.toml", redis_url_config("redis://metrics:p%2F%23%3F%40%25%3Aw@" + redis.host() +
                                       ":" + std::to_string(redis.port()) + "/0"));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  REQUIRE(server.wait_for_line("Metrics: storage redis").has_value());
  REQUIRE(send_requests(port, 30) == 30);
  CHECK(
      eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 30; }));
  // Every connection of prefork's is the ACL user's: none fell back to the default user.
  std::vector<std::string> users = redis_client_users(redis);
  CHECK(users.size() >= 2);
  for (const std::string& user : users) CHECK(user == "user=metrics");
}

TEST_CASE("Redis storage over TLS with a client certificate counts every request") {
  Certificates certificates;
  certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
  certificates.issue("client", "DNS:prefork", true);
  RedisServer redis(RedisServer::Tls::issued(certificates, "server", true));
  TempDir directory;
  std::string config = directory.write(
      "prefork.toml",
      redis_url_config("rediss://127.0.0.1:" + std::to_string(redis.tls_port()) + "/0",
                       "ssl_ca_certs = \"" + certificates.ca() + "\"\nssl_certfile = \"" +
                           certificates.file("client.pem") + "\"\nssl_keyfile = \"" +
                           certificates.file("client.key") + "\"\n"));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  REQUIRE(server.wait_for_line("over TLS").has_value());
  REQUIRE(send_requests(port, 40) == 40);
  CHECK(
      eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 40; }));
  // A worker killed with SIGKILL: its values still reach Redis, through the master's TLS. Its
  // replacement reads no certificate file (it may have dropped privileges): they are gone.
  for (const char* name : {"ca.pem", "client.pem", "client.key"})
    std::filesystem::remove(certificates.file(name));
  pid_t victim = server.workers().front();
  kill(victim, SIGKILL);
  REQUIRE(server.wait_for_worker_count(2));
  REQUIRE(send_requests(port, 10) == 10);
  CHECK(
      eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 50; }));
  CHECK(redis_key_count(redis, "gunicorn:*") > 0);
}

TEST_CASE("Redis over TLS with a CA that did not sign its certificate: files, the log says why") {
  Certificates certificates;
  certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
  RedisServer redis(RedisServer::Tls::issued(certificates, "server"));
  TempDir directory;
  std::string config = directory.write(
      "prefork.toml", "[redis]\nenabled = true\nssl = true\nhost = \"127.0.0.1\"\nport = " +
                          std::to_string(redis.tls_port()) + "\nssl_ca_certs = \"" +
                          certificates.other_ca() +
                          "\"\nconnect_timeout = 1\n[metrics]\nbind_address = \"127.0.0.1\"\n"
                          "port = 0\n");
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  std::optional<std::string> line = server.wait_for_line("falling back to files");
  REQUIRE(line.has_value());
  CHECK(line->find("certificate verify failed") != std::string::npos);
  REQUIRE(send_requests(port, 3) == 3);
  CHECK(eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 3; }));
  CHECK(redis_key_count(redis, "*") == 0);
}

TEST_CASE("Redis storage: a worker killed with SIGKILL under load loses no increment") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 3);
  auto& [server, port, metrics] = prefork;

  Load load(port, 4);
  REQUIRE(eventually([&] { return load.answered() > 200; }));
  pid_t victim = server.workers().front();
  kill(victim, SIGKILL);
  REQUIRE(eventually([&] { return load.answered() > 400; }));
  load.stop();
  long answered = load.answered();
  std::string text;
  // The restart is counted once the dead worker's values are stored: both show up, in order.
  const std::string restarted = "gunicorn_master_worker_restart_total{reason=\"signaled\"} 1.0";
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_requests_total") == double(answered) &&
           text.find(restarted) != std::string::npos;
  }));
  INFO("answered ", answered, "\n", text);
  CHECK(sum_of(text, "gunicorn_worker_requests_total") == double(answered));
  // Folded into the archive: none of the dead worker's keys are left.
  CHECK(eventually(
      [&] { return redis_key_count(redis, "gunicorn:*:" + std::to_string(victim) + ":*") == 0; }));
  CHECK(text.find("pid=\"" + std::to_string(victim) + "\"") == std::string::npos);
}

TEST_CASE("Redis storage: 200 worker restarts keep the key count bounded") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", "max_requests = 1\n" + redis_config(redis));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;

  int answered = 0;
  auto serve = [&](int count) {
    for (int i = 0; i < count; ++i) {
      eventually([&] { return http_get(port, "/", 2s).status == 200; }, 5s) && ++answered;
    }
  };
  serve(20);
  REQUIRE(server.wait_for_worker_count(2));
  REQUIRE(eventually(
      [&] { return sum_of(scrape(metrics), "gunicorn_master_worker_restart_total") >= 20; }));
  long long early = redis_key_count(redis, "gunicorn:*");
  serve(180);
  REQUIRE(server.wait_for_worker_count(2));
  std::string text;
  CHECK(eventually(
      [&] {
        text = scrape(metrics);
        return sum_of(text, "gunicorn_master_worker_restart_total") >= 200;
      },
      20s));
  long long late = redis_key_count(redis, "gunicorn:*");
  INFO("keys after 20 restarts: ", early, ", after 200: ", late);
  CHECK(late > 0);
  CHECK(late <= early + early / 2);
  CHECK(sum_of(text, "gunicorn_worker_requests_total") == double(answered));
}

TEST_CASE("Redis storage: Redis gone for 10 s under load fails no request and loses no count") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;

  Load load(port, 2);
  REQUIRE(eventually([&] { return load.answered() > 100; }));
  // SIGKILL without persistence: Redis comes back empty, so everything must be written again.
  redis.kill();
  long before_outage = load.answered();
  // The outage itself is what is tested, so it lasts a fixed time.
  std::this_thread::sleep_for(10s);
  long during_outage = load.answered() - before_outage;
  Reply health = http_get(metrics, "/health");
  CHECK(health.status == 503);
  redis.restart();
  long after_return = load.answered();
  REQUIRE(eventually([&] { return load.answered() > after_return + 100; }));
  load.stop();
  long answered = load.answered();
  INFO("answered ", answered, ", during the outage ", during_outage);
  CHECK(load.failed() == 0);
  // Requests never waited for Redis: the workers kept serving through the outage.
  CHECK(during_outage > 100);
  std::string text;
  CHECK(eventually(
      [&] {
        text = scrape(metrics);
        return sum_of(text, "gunicorn_worker_requests_total") == double(answered);
      },
      15s));
  INFO(text);
  CHECK(sum_of(text, "gunicorn_master_workers") == 2);
  CHECK(http_get(metrics, "/health").status == 200);
}

// Issue 12, item 7: a Redis that lost its data (here restarted empty) gets everything again,
// the archive of the dead workers from the master's own copy.
TEST_CASE("Redis restarted empty after workers died: requests_total never drops, ends exact") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;

  Load load(port, 2);
  for (int killed = 1; killed <= 2; ++killed) {
    REQUIRE(eventually([&, goal = load.answered() + 100] { return load.answered() > goal; }));
    kill(server.workers().front(), SIGKILL);
    // Folded into the archive: the restart is counted once the dead worker's values are.
    REQUIRE(eventually(
        [&] { return sum_of(scrape(metrics), "gunicorn_master_worker_restart_total") == killed; }));
  }
  ScrapeWatch watch(metrics, "gunicorn_worker_requests_total");
  REQUIRE(eventually([&] { return watch.scrapes() > 5; }));
  // A request in flight on a killed worker fails; none may fail because of Redis.
  long failed_before = load.failed();
  redis.restart();
  REQUIRE(server.wait_for_line("wrote the archive again").has_value());
  REQUIRE(eventually([&, goal = load.answered() + 200] { return load.answered() > goal; }));
  std::string text = check_counted_exactly(metrics, load, watch);
  CHECK(load.failed() == failed_before);
  CHECK(sum_of(text, "gunicorn_master_worker_restart_total") == 2);
}

TEST_CASE("Redis absent at start: files are used and /health says so") {
  int port_without_redis = prefork::testing::unused_port();
  TempDir directory;
  std::string config =
      directory.write("prefork.toml", "[redis]\nenabled = true\nhost = \"127.0.0.1\"\nport = " +
                                          std::to_string(port_without_redis) +
                                          "\nconnect_timeout = 1\n" + file_config());
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  CHECK(server.wait_for_line("falling back to files").has_value());
  CHECK(server.wait_for_line("Metrics: storage file").has_value());
  Reply health = http_get(metrics, "/health");
  CHECK(health.status == 200);
  CHECK(health.body.find("\"status\": \"degraded\"") != std::string::npos);
  CHECK(health.body.find("\"storage\": \"file\"") != std::string::npos);
  CHECK(health.body.find("\"redis_fallback\": true") != std::string::npos);
  REQUIRE(send_requests(port, 10) == 10);
  CHECK(eventually([&] { return sum_of(scrape(metrics), "gunicorn_master_workers") == 1; }));
  CHECK(sum_of(scrape(metrics), "gunicorn_master_storage_degraded") == 1);
}

TEST_CASE(
    "two instances on one Redis: each serves its own, a fleet scope serves both apart, and "
    "`prefork metrics` serves the same without workers and writes nothing") {
  RedisServer redis;
  TempDir directory;
  std::string first_config =
      directory.write("first.toml", redis_config(redis, "instance = \"first\"\n"));
  std::string second_config =
      directory.write("second.toml", redis_config(redis, "instance = \"second\"\n"));
  std::string fleet_config = directory.write(
      "fleet.toml", redis_config(redis, "instance = \"viewer\"\nscope = \"fleet\"\n"));
  std::string sidecar_config =
      directory.write("sidecar.toml", redis_config(redis, "instance = \"second\"\n"));
  Server first(hello_binary(), {"-c", first_config, "-b", "127.0.0.1:0", "-w", "2"});
  Server second(hello_binary(), {"-c", second_config, "-b", "127.0.0.1:0", "-w", "1"});
  Server fleet(hello_binary(), {"-c", fleet_config, "-b", "127.0.0.1:0", "-w", "1"});
  // The exporter's sidecar: one for every instance, one for the second instance alone.
  Server fleet_only(prefork_binary(), {"metrics", "-c", fleet_config});
  Server sidecar(prefork_binary(), {"--metrics-only", "-c", sidecar_config});
  int first_port = first.port(), second_port = second.port();
  REQUIRE(first_port > 0);
  REQUIRE(second_port > 0);
  int first_metrics = metrics_port(first), second_metrics = metrics_port(second);
  int fleet_metrics = metrics_port(fleet), fleet_only_metrics = metrics_port(fleet_only);
  int sidecar_metrics = metrics_port(sidecar);
  REQUIRE(first_metrics > 0);
  REQUIRE(second_metrics > 0);
  REQUIRE(fleet_metrics > 0);
  REQUIRE(fleet_only_metrics > 0);
  REQUIRE(sidecar_metrics > 0);
  REQUIRE(first.wait_for_worker_count(2));
  REQUIRE(second.wait_for_worker_count(1));
  CHECK(fleet_only.workers().empty());
  CHECK(sidecar.workers().empty());

  REQUIRE(send_requests(first_port, 30) == 30);
  REQUIRE(send_requests(second_port, 20) == 20);
  // A worker of each instance dies: each master cleans only its own.
  kill(first.workers().front(), SIGKILL);
  kill(second.workers().front(), SIGKILL);
  struct Expected {
    int metrics;
    double requests, workers;
  };
  for (Expected expected : {Expected{first_metrics, 30, 2}, Expected{second_metrics, 20, 1},
                            Expected{sidecar_metrics, 20, 1}}) {
    std::string text;
    CHECK(eventually([&] {
      text = scrape(expected.metrics);
      return sum_of(text, "gunicorn_master_worker_restart_total") == 1 &&
             sum_of(text, "gunicorn_worker_requests_total") == expected.requests;
    }));
    INFO(text);
    CHECK(sum_of(text, "gunicorn_master_workers") == expected.workers);
    CHECK(text.find("instance=") == std::string::npos);
  }
  for (int metrics : {fleet_metrics, fleet_only_metrics}) {
    std::string text;
    CHECK(eventually([&] {
      text = scrape(metrics);
      return sum_of(text, "gunicorn_worker_requests_total", "instance=\"first\"") == 30 &&
             sum_of(text, "gunicorn_worker_requests_total", "instance=\"second\"") == 20 &&
             sum_of(text, "gunicorn_master_worker_restart_total", "instance=\"first\"") == 1;
    }));
    INFO(text);
    CHECK(sum_of(text, "gunicorn_master_workers", "instance=\"first\"") == 2);
    CHECK(sum_of(text, "gunicorn_master_workers", "instance=\"second\"") == 1);
    CHECK(sum_of(text, "gunicorn_worker_requests_total") == 50);
  }
  CHECK(redis_key_count(redis, "gunicorn:*:first-archive:*") > 0);
  CHECK(redis_key_count(redis, "gunicorn:*:second-archive:*") > 0);
  // The metrics-only processes keep no values of their own in Redis.
  for (const Server* reader : {&fleet_only, &sidecar}) {
    std::string pid = std::to_string(reader->pid());
    CHECK(redis_key_count(redis, "gunicorn:*-" + pid + ":*") == 0);
  }
  fleet_only.signal(SIGTERM);
  CHECK(fleet_only.wait_exit() == 0);
}

TEST_CASE("`prefork metrics` started while Redis is down answers 503 until Redis is back") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis, ""));
  redis.kill();
  Server reader(prefork_binary(), {"metrics", "-c", config});
  int metrics = metrics_port(reader);
  REQUIRE(metrics > 0);
  CHECK(http_get(metrics, "/health").status == 503);
  CHECK(http_get(metrics, "/metrics").status == 503);

  redis.restart();
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(send_requests(port, 10) == 10);
  CHECK(eventually([&] {
    return http_get(metrics, "/health").status == 200 &&
           sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 10;
  }));
}

TEST_CASE("`prefork metrics` with nothing to read stops at start and says what to set") {
  Server reader(prefork_binary(), {"metrics"});
  CHECK(reader.wait_exit() == 2);
  CHECK(reader.log().find("nothing to read: set Redis") != std::string::npos);
}
