// The built-in histograms' buckets and the exporter's settings (issue 17): REDIS_TTL_DISABLED,
// CLEANUP_DB_FILES, GUNICORN_TIMEOUT and GUNICORN_KEEPALIVE. Real binaries, a real
// redis-server, real signals.
#include <hiredis/hiredis.h>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <string>
#include <vector>

#include "metrics_support.hpp"

using namespace prefork::e2e;

namespace {

const std::string duration_bucket = "gunicorn_worker_request_duration_seconds_bucket";
const std::string size_bucket = "gunicorn_worker_response_size_bytes_bucket";

// The TTL of every key matching pattern (KEYS is fine on a test's own Redis): -1 for none. A key
// deleted between KEYS and TTL (a dead worker's, cleaned up meanwhile) is left out.
std::map<std::string, long long> key_ttls(const RedisServer& redis, const std::string& pattern) {
  std::map<std::string, long long> ttls;
  redisContext* context = redisConnect("127.0.0.1", redis.port());
  REQUIRE(context != nullptr);
  REQUIRE(context->err == 0);
  auto* keys = static_cast<redisReply*>(redisCommand(context, "KEYS %s", pattern.c_str()));
  REQUIRE(keys != nullptr);
  for (std::size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; ++i) {
    std::string key(keys->element[i]->str, keys->element[i]->len);
    auto* ttl = static_cast<redisReply*>(redisCommand(context, "TTL %b", key.data(), key.size()));
    if (ttl && ttl->type == REDIS_REPLY_INTEGER && ttl->integer != -2) ttls[key] = ttl->integer;
    if (ttl) freeReplyObject(ttl);
  }
  freeReplyObject(keys);
  redisFree(context);
  return ttls;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Requests sent, counted, a worker killed with SIGKILL and its restart counted: by then the
// master has cleaned up after it. Returns the killed worker's pid.
pid_t kill_a_counted_worker(Server& server, int port, int metrics) {
  REQUIRE(send_requests(port, 20) == 20);
  REQUIRE(
      eventually([&] { return sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 20; }));
  pid_t victim = server.workers().front();
  kill(victim, SIGKILL);
  const std::string restarted = "gunicorn_master_worker_restart_total{reason=\"signaled\"} 1.0";
  REQUIRE(eventually([&] { return scrape(metrics).find(restarted) != std::string::npos; }));
  return victim;
}

}  // namespace

TEST_CASE("the default buckets: sub-millisecond bounds and the exporter's, up to 60 s") {
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  REQUIRE(send_requests(port, 30) == 30);
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_request_duration_seconds_count") == 30;
  }));
  INFO(text);
  // Buckets are cumulative: every request took less than 60 s, and none less than 0.
  CHECK(sum_of(text, duration_bucket, "le=\"60.0\"") == 30);
  CHECK(sum_of(text, duration_bucket, "le=\"30.0\"") == 30);
  CHECK(sum_of(text, duration_bucket, "le=\"0.5\"") == 30);
  CHECK(sum_of(text, duration_bucket, "le=\"0.0001\"") >= 0);
  CHECK(sum_of(text, duration_bucket, "le=\"0.00025\"") >= 0);
  CHECK(sum_of(text, size_bucket, "le=\"1024.0\"") >= 0);
  CHECK(sum_of(text, size_bucket, "le=\"4.194304e+06\"") == 30);
}

TEST_CASE("metrics.duration_buckets and size_buckets replace the built-in histograms' bounds") {
  TempDir directory;
  std::string config = directory.write(
      "prefork.toml",
      file_config("duration_buckets = [0.002, 120]\nsize_buckets = [1, 100000000]\n"));
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  REQUIRE(send_requests(port, 10) == 10);
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "gunicorn_worker_request_duration_seconds_count") == 10;
  }));
  INFO(text);
  CHECK(sum_of(text, duration_bucket, "le=\"120.0\"") == 10);
  CHECK(sum_of(text, duration_bucket, "le=\"0.002\"") >= 0);
  CHECK(sum_of(text, duration_bucket, "le=\"60.0\"") == -1);
  CHECK(sum_of(text, size_bucket, "le=\"1.0\"") == 0);
  CHECK(sum_of(text, size_bucket, "le=\"1e+08\"") == 10);
  CHECK(sum_of(text, size_bucket, "le=\"1024.0\"") == -1);
  CHECK(sum_of(text, "gunicorn_worker_request_size_bytes_bucket", "le=\"1e+08\"") == 10);
}

TEST_CASE("a bucket list that does not go up exits 2 naming the file, line and key") {
  TempDir directory;
  std::string config =
      directory.write("prefork.toml", "[metrics]\nport = 0\nduration_buckets = [0.1, 1, 0.5]\n");
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0"});
  CHECK(server.wait_exit() == 2);
  CHECK(server
            .wait_for_line(config +
                           ":3: metrics.duration_buckets: element 3 (0.5): must be greater than "
                           "element 2 (1)")
            .has_value());
  CHECK(server.count_lines("Listening at") == 0);
}

TEST_CASE("Redis: keys expire after redis.ttl_seconds, refreshed while their process lives") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  kill_a_counted_worker(server, port, metrics);
  std::map<std::string, long long> ttls = key_ttls(redis, "gunicorn:*");
  REQUIRE_FALSE(ttls.empty());
  for (const auto& [key, ttl] : ttls) {
    CAPTURE(key);
    CHECK(ttl > 0);
    CHECK(ttl <= 300);
  }
}

TEST_CASE("REDIS_TTL_DISABLED=true: no key expires, the archive's and the index's included") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"},
                {"REDIS_TTL_DISABLED=true"});
  int port = server.serving_port(2);
  REQUIRE(port > 0);
  int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  pid_t victim = kill_a_counted_worker(server, port, metrics);
  REQUIRE(eventually(
      [&] { return redis_key_count(redis, "gunicorn:*:" + std::to_string(victim) + ":*") == 0; }));
  std::map<std::string, long long> ttls = key_ttls(redis, "gunicorn:*");
  REQUIRE_FALSE(ttls.empty());
  CHECK(ttls.count("gunicorn:processes") == 1);
  CHECK(std::any_of(ttls.begin(), ttls.end(), [](const auto& entry) {
    return entry.first.find("archive") != std::string::npos;
  }));
  for (const auto& [key, ttl] : ttls) {
    CAPTURE(key);
    CHECK(ttl == -1);
  }
}

TEST_CASE("keys an earlier master left with a TTL lose it under REDIS_TTL_DISABLED") {
  RedisServer redis;
  TempDir directory;
  std::string config = directory.write("prefork.toml", redis_config(redis));
  {
    Server first(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"});
    int port = first.serving_port(1);
    REQUIRE(port > 0);
    int metrics = metrics_port(first);
    REQUIRE(metrics > 0);
    kill_a_counted_worker(first, port, metrics);
    first.signal(SIGTERM);
    REQUIRE(first.wait_exit(20s) == 0);
  }
  std::map<std::string, long long> before = key_ttls(redis, "gunicorn:*archive*");
  REQUIRE_FALSE(before.empty());
  for (const auto& [key, ttl] : before) CHECK(ttl > 0);

  // The next master's write connection is new: it writes the archive again, without a TTL.
  Server second(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"},
                {"REDIS_TTL_DISABLED=on"});
  REQUIRE(second.serving_port(1) > 0);
  REQUIRE(metrics_port(second) > 0);
  CHECK(eventually([&] {
    std::map<std::string, long long> after = key_ttls(redis, "gunicorn:*archive*");
    return after.size() == before.size() &&
           std::all_of(after.begin(), after.end(),
                       [](const auto& entry) { return entry.second == -1; });
  }));
}

TEST_CASE("file storage: a dead worker's .db files are folded into archives and removed") {
  TempDir directory;
  std::string files = directory.file("metrics");
  REQUIRE(mkdir(files.c_str(), 0700) == 0);
  std::string config =
      directory.write("prefork.toml", file_config("multiproc_dir = \"" + files + "\"\n"));
  Prefork prefork(config, 2);
  auto& [server, port, metrics] = prefork;
  std::string dead = std::to_string(kill_a_counted_worker(server, port, metrics));
  CHECK(eventually([&] { return !contains(files_in(files), "counter_" + dead + ".db"); }));
  std::vector<std::string> names = files_in(files);
  INFO(names.size(), " files");
  CHECK(contains(names, "counter_archive.db"));
  CHECK(contains(names, "histogram_archive.db"));
  CHECK_FALSE(contains(names, "histogram_" + dead + ".db"));
  CHECK_FALSE(contains(names, "gauge_liveall_" + dead + ".db"));
  CHECK(sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 20);
}

TEST_CASE("CLEANUP_DB_FILES=false: a dead worker's files stay, but its live gauges go") {
  TempDir directory;
  std::string files = directory.file("metrics");
  REQUIRE(mkdir(files.c_str(), 0700) == 0);
  std::string config =
      directory.write("prefork.toml", file_config("multiproc_dir = \"" + files + "\"\n"));
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"},
                {"CLEANUP_DB_FILES=false"});
  int port = server.serving_port(2);
  REQUIRE(port > 0);
  int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  std::string dead = std::to_string(kill_a_counted_worker(server, port, metrics));
  CHECK(eventually([&] { return !contains(files_in(files), "gauge_liveall_" + dead + ".db"); }));
  std::vector<std::string> names = files_in(files);
  CHECK(contains(names, "counter_" + dead + ".db"));
  CHECK(contains(names, "histogram_" + dead + ".db"));
  CHECK_FALSE(contains(names, "counter_archive.db"));
  CHECK(sum_of(scrape(metrics), "gunicorn_worker_requests_total") == 20);
}

TEST_CASE("GUNICORN_TIMEOUT and GUNICORN_KEEPALIVE reach timeout and keepalive") {
  Server server(prefork_binary(), {"--print-config"},
                {"GUNICORN_TIMEOUT=75", "GUNICORN_KEEPALIVE=7"});
  CHECK(server.wait_exit() == 0);
  CHECK(server.wait_for_line("timeout = 75").has_value());
  CHECK(server.wait_for_line("keepalive = 7").has_value());
}
