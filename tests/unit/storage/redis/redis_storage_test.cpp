// The public Redis storage (include/prefork/redis_storage.hpp) through its header alone, against
// a real redis-server: settings, the seed's classes and helpers, and a program's registry that
// flushes, is retired into the archive and survives its keys.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <prefork/redis_storage.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "support/eventually.hpp"
#include "support/redis_server.hpp"

using namespace prefork::redis;
using prefork::testing::eventually;
using prefork::testing::RedisServer;

namespace {

RedisSettings settings_of(const RedisServer& server, const std::string& instance = "") {
  RedisSettings settings;
  settings.set("redis.host", server.host())
      .set("redis.port", std::to_string(server.port()))
      .set("redis.key_prefix", "lib")
      .set("redis.connect_timeout", "2")
      .set("redis.command_timeout", "2");
  if (!instance.empty()) settings.set("metrics.instance", instance);
  return settings;
}

long long keys_matching(const RedisServer& server, const std::string& pattern) {
  RedisServer::Reply reply = server.command({"KEYS", pattern});
  return reply ? static_cast<long long>(reply->elements) : -1;
}

// The value of the one sample line that starts with prefix ("name{labels} "), or -1.
double sample(const std::string& text, const std::string& prefix) {
  std::size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + 1 + prefix.size(), nullptr);
}

// A variable set for one test, put back as it was.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("settings take prefork's keys and values, and refuse others") {
  RedisSettings settings;
  CHECK(settings.get("redis.enabled") == "true");
  CHECK(settings.get("redis.port") == "6379");
  settings.set("redis.port", "6380").set("redis.password", "s3cret").set("redis.ssl", "on");
  CHECK(settings.get("redis.port") == "6380");
  CHECK(settings.get("redis.ssl") == "true");
  CHECK(settings.get("redis.password") == "\"***\"");
  CHECK_THROWS_AS(settings.set("redis.port", "many"), SettingsError);
  CHECK_THROWS_AS(settings.set("workers", "4"), SettingsError);
  CHECK_THROWS_AS(settings.get("bind"), SettingsError);
  CHECK_THROWS_AS(settings.set("metrics.instance", "a:b"), SettingsError);
}

TEST_CASE("moved-from settings stay usable: copied, read and set") {
  RedisSettings original;
  original.set("redis.port", "6390");
  RedisSettings moved(std::move(original));
  CHECK(moved.get("redis.port") == "6390");
  // NOLINTBEGIN(bugprone-use-after-move): what is tested
  CHECK(original.get("redis.port") == "6379");
  RedisSettings copy(original);
  CHECK(copy.get("redis.enabled") == "true");
  original.set("redis.port", "6391");
  RedisSettings assigned;
  assigned = std::move(original);
  CHECK(assigned.get("redis.port") == "6391");
  original.set("redis.port", "6392");
  CHECK(RedisSettings(original).get("redis.port") == "6392");
  // NOLINTEND(bugprone-use-after-move)
}

TEST_CASE("settings come from the environment and from a config file as the master reads them") {
  {
    ScopedEnv unset("REDIS_ENABLED", "");  // set to nothing reads as off, as the exporter reads it
    CHECK(RedisSettings::from_environment().get("redis.enabled") == "false");
  }
  ScopedEnv enabled("REDIS_ENABLED", "on");
  ScopedEnv port("REDIS_PORT", "7001");
  RedisSettings environment = RedisSettings::from_environment();
  CHECK(environment.get("redis.enabled") == "true");
  CHECK(environment.get("redis.port") == "7001");

  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("prefork-lib-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << "[redis]\nhost = \"10.0.0.9\"\nport = 7000\nkey_prefix = \"shop\"\n"
                         "[metrics]\ninstance = \"web1\"\n";
  RedisSettings from_file = RedisSettings::from_config_file(file.string());
  CHECK(from_file.get("redis.host") == "\"10.0.0.9\"");
  CHECK(from_file.get("redis.port") == "7001");  // the environment over the file
  CHECK(from_file.get("redis.key_prefix") == "\"shop\"");
  CHECK(from_file.get("metrics.instance") == "\"web1\"");
  std::ofstream(file) << "[redis]\nport = \"x\"\n";
  CHECK_THROWS_AS(RedisSettings::from_config_file(file.string()), SettingsError);
  std::filesystem::remove(file);
}

TEST_CASE("redis_key is prometheus_client's JSON key") {
  CHECK(redis_key("gunicorn_requests_total", "requests_total", {"method", "status"}, {"GET", "200"},
                  "Total number of requests") ==
        R"(["gunicorn_requests_total", "requests_total", {"method": "GET", "status": "200"}, )"
        R"("Total number of requests"])");
  CHECK_THROWS_AS(redis_key("x", "x", {"a"}, {}, "h"), prefork::metrics::MetricError);
}

TEST_CASE("the client connects, pings and reads Redis' clock; a bad login throws") {
  RedisServer server;
  RedisStorageClient client(settings_of(server));
  CHECK_FALSE(client.is_connected());
  client.connect();
  CHECK(client.is_connected());
  CHECK(client.ping());
  CHECK(client.server_time() > 1.6e9);
  CHECK(client.describe() == "127.0.0.1:" + std::to_string(server.port()));

  RedisServer guarded("pw");
  RedisStorageClient refused(settings_of(guarded).set("redis.password", "wrong"));
  CHECK_THROWS_AS(refused.connect(), RedisAuthenticationError);
  RedisStorageClient absent(
      settings_of(server).set("redis.port", std::to_string(prefork::testing::unused_port())));
  CHECK_THROWS_AS(absent.connect(), RedisConnectionError);
  CHECK_THROWS_AS(RedisStorageClient(RedisSettings().set("redis.url", "http://x")), SettingsError);
}

TEST_CASE("the dictionary, values and collector read and write the exporter's keys") {
  RedisServer server;
  RedisSettings settings = settings_of(server, "web1");
  RedisStorageClient client(settings);
  RedisStorageDict dict(client, settings);
  CHECK(dict.process() == "web1-" + std::to_string(::getpid()));
  CHECK(dict.archive() == "web1-archive");

  std::string key = redis_key("jobs", "jobs_total", {"queue"}, {"mail"}, "Jobs.");
  Series series{"counter", dict.process(), key};
  CHECK_FALSE(dict.contains(series));
  dict.write_value(series, 3);
  CHECK(dict.contains(series));
  REQUIRE(dict.read_value(series).has_value());
  CHECK(dict.read_value(series)->value == 3);
  CHECK(keys_matching(server, "lib:counter:" + dict.process() + ":metric:*") == 1);
  CHECK_THROWS_AS(dict.write_value({"gauge_sometimes", dict.process(), key}, 1),
                  prefork::metrics::MetricError);

  RedisValue value(dict, "counter", "jobs", "jobs_total", {"queue"}, {"mail"}, "Jobs.");
  CHECK(value.get() == 3);
  value.inc(2);
  CHECK(dict.read_value(series)->value == 5);
  RedisValue gauge(dict, "gauge", "depth", "depth", {}, {}, "Depth.", "max");
  CHECK(gauge.series().kind == "gauge_max");
  gauge.set(7);
  CHECK_THROWS_AS(RedisValue(dict, "gauge", "d", "d", {}, {}, "D.", "loudest"),
                  prefork::metrics::MetricError);
  CHECK_THROWS_AS(RedisValue(dict, "meter", "d", "d", {}, {}, "D."), prefork::metrics::MetricError);

  CHECK(dict.size(dict.process()) == 2);
  CHECK(dict.keys(dict.process()).size() == 2);
  CHECK(dict.items(dict.process()).size() == 2);
  std::vector<std::string> processes = dict.processes();
  CHECK(std::find(processes.begin(), processes.end(), dict.process()) != processes.end());

  RedisMultiProcessCollector collector(dict);
  std::string text = collector.collect();
  CHECK(sample(text, "jobs_total{queue=\"mail\"} ") == 5);
  CHECK(sample(text, "depth ") == 7);

  CleanupResult result = dict.cleanup_dead_worker(dict.process());
  CHECK(result.folded == 2);
  CHECK(dict.size(dict.process()) == 0);
  CHECK(sample(collector.collect(), "jobs_total{queue=\"mail\"} ") == 5);  // from the archive
  dict.clear(dict.archive());
  CHECK(sample(collector.collect(), "jobs_total{queue=\"mail\"} ") == -1);
}

TEST_CASE("a program's registry is flushed, then retired: its counters outlive its keys") {
  RedisServer server;
  RedisSettings settings = settings_of(server, "cron").set("redis.ttl_seconds", "300");
  RedisStorageManager manager(settings);
  auto& runs = manager.registry().counter("backup_runs_total", "Backups run.", {"result"});
  auto& size = manager.registry().gauge("backup_bytes", "Size of the last backup.", {}, "max");
  runs.labels({"ok"}).inc();
  CHECK_FALSE(manager.flush());  // not set up: nothing written, nothing lost
  CHECK(manager.last_error().find("not set up") != std::string::npos);

  REQUIRE(manager.setup());
  CHECK(manager.is_enabled());
  CHECK(manager.is_connected());
  REQUIRE(manager.get_collector() != nullptr);
  std::string process = "cron-" + std::to_string(::getpid());
  CHECK(manager.flush());
  CHECK(keys_matching(server, "lib:counter:" + process + ":metric:*") == 1);
  size.set(1024);
  runs.labels({"ok"}).inc();
  CHECK(manager.flush());
  CHECK(sample(manager.get_collector()->collect(), "backup_runs_total{result=\"ok\"} ") == 2);

  CHECK(manager.teardown());
  CHECK_FALSE(manager.is_enabled());
  CHECK(manager.get_client() == nullptr);
  CHECK(keys_matching(server, "lib:*:" + process + ":*") == 0);  // retired: nothing to expire
  CHECK(runs.labels({"ok"}).value() == 0);                       // handed over to the archive

  // Counted again after a teardown: only the new amount is added.
  runs.labels({"ok"}).inc();
  REQUIRE(manager.setup());
  CHECK(manager.flush());
  std::string text = manager.get_collector()->collect();
  CHECK(sample(text, "backup_runs_total{result=\"ok\"} ") == 3);
  CHECK(sample(text, "backup_bytes ") == 1024);
}

TEST_CASE("start_flushing keeps writing until teardown, which writes the last values") {
  RedisServer server;
  RedisStorageManager manager(settings_of(server));
  REQUIRE(manager.setup());
  auto& ticks = manager.registry().counter("ticks_total", "Ticks.");
  manager.start_flushing(std::chrono::milliseconds(20));
  ticks.inc(5);
  RedisStorageDict& dict = *manager.get_dict();
  std::string key = redis_key("ticks", "ticks_total", {}, {}, "Ticks.");
  Series series{"counter", dict.process(), key};
  CHECK(eventually([&] {
    auto stored = dict.read_value(series);
    return stored && stored->value == 5;
  }));
  ticks.inc();
  REQUIRE(manager.teardown());
  RedisStorageClient client(settings_of(server));
  RedisStorageDict reader(client, settings_of(server));
  CHECK(reader.read_value({"counter", reader.archive(), key})->value == 6);
}

TEST_CASE("a program killed after a flush is retired by cleanup_keys where its instance runs") {
  RedisServer server;
  RedisSettings settings = settings_of(server, "host1");
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    RedisStorageManager manager(settings);
    manager.registry().counter("imports_total", "Imports.").inc(4);
    bool flushed = manager.setup() && manager.flush();
    ::_exit(flushed ? 0 : 1);  // no teardown: as if killed
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(keys_matching(server, "lib:counter:host1-" + std::to_string(child) + ":metric:*") == 1);

  RedisStorageManager cleaner(settings);
  REQUIRE(cleaner.setup());
  CHECK(cleaner.cleanup_keys() == 1);
  CHECK(keys_matching(server, "lib:counter:host1-" + std::to_string(child) + ":*") == 0);
  CHECK(sample(cleaner.get_collector()->collect(), "imports_total ") == 4);
}

TEST_CASE("setup is false, with the reason, when Redis is disabled or absent") {
  RedisStorageManager disabled(RedisSettings().set("redis.enabled", "off"));
  CHECK_FALSE(disabled.setup());
  CHECK(disabled.last_error().find("REDIS_ENABLED") != std::string::npos);
  CHECK(disabled.get_dict() == nullptr);

  RedisStorageManager absent(RedisSettings()
                                 .set("redis.host", "127.0.0.1")
                                 .set("redis.port", std::to_string(prefork::testing::unused_port()))
                                 .set("redis.connect_timeout", "1"));
  CHECK_FALSE(absent.setup());
  CHECK_FALSE(absent.last_error().empty());
  CHECK_FALSE(absent.is_connected());
}

TEST_CASE("the global helpers drive one process-wide manager") {
  RedisServer server;
  REQUIRE(setup_redis_metrics(settings_of(server, "global")));
  CHECK(&get_redis_storage_manager() == &get_redis_storage_manager());
  CHECK(is_redis_enabled());
  CHECK(is_connected());
  REQUIRE(get_redis_client() != nullptr);
  REQUIRE(get_redis_dict() != nullptr);
  REQUIRE(get_redis_collector() != nullptr);
  CHECK(get_redis_dict()->process() == "global-" + std::to_string(::getpid()));
  CHECK(cleanup_redis_keys() == 0);
  get_redis_storage_manager().registry().counter("global_total", "Global.").inc();
  CHECK(teardown_redis_metrics());
  CHECK_FALSE(is_redis_enabled());
  CHECK_FALSE(is_connected());
  CHECK(get_redis_client() == nullptr);
  CHECK(keys_matching(server, "lib:counter:global-archive:metric:*") == 1);

  CHECK_FALSE(setup_redis_metrics(settings_of(server).set("redis.enabled", "false")));
}
