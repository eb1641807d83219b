// Defaults, each layer on its own, and their precedence: CLI > environment > file > defaults.
#include "load_helpers.hpp"

#include <thread>

using namespace prefork::config;
using namespace prefork::config::testing;

TEST_CASE("no file, no flags, no environment gives the documented defaults") {
  Config config = loaded({});
  REQUIRE(config.binds.size() == 1);
  CHECK(config.binds[0].kind == Bind::Kind::tcp);
  CHECK(config.binds[0].host == "127.0.0.1");
  CHECK(config.binds[0].port == 8000);
  CHECK(config.binds[0].text == "127.0.0.1:8000");
  CHECK(config.workers == int(std::max(1u, std::thread::hardware_concurrency())));
  CHECK(config.workers >= 1);
  CHECK(config.proc_name == "prefork");
  CHECK(config.worker_class == "uv");
  CHECK(config.timeout == 30);
  CHECK(config.keepalive == 2);
  CHECK(config.limits.request_line == 4094);
  CHECK(config.redis.enabled == false);
  CHECK(config.redis.host == "localhost");
  CHECK(config.metrics.port == 9092);
  CHECK(config.config_file.empty());
  CHECK(config.check_only == false);
  CHECK(config.app_config.values().empty());
}

TEST_CASE("the file layer sets top-level keys and [redis], [metrics], [app] tables") {
  TomlFile file(R"(
bind = ["127.0.0.1:0", "unix:/tmp/prefork.sock"]
workers = 3
worker_class = "threads"
threads = 8
timeout = 12.5
umask = 0o022
access_log_format = "%(h)s %(r)s"
[redis]
enabled = true
port = 6380
[metrics]
port = 0
instance = "east"
[app]
greeting = "hi"
ratio = 0.5
verbose = true
[app.db]
port = 5432
)");
  Config config = loaded({"-c", file.path()});
  CHECK(config.config_file == file.path());
  REQUIRE(config.binds.size() == 2);
  CHECK(config.binds[0].port == 0);
  CHECK(config.binds[1].kind == Bind::Kind::unix_socket);
  CHECK(config.binds[1].path == "/tmp/prefork.sock");
  CHECK(config.workers == 3);
  CHECK(config.worker_class == "threads");
  CHECK(config.threads == 8);
  CHECK(config.timeout == 12.5);
  CHECK(config.umask == 022);
  CHECK(config.access_log_format == "%(h)s %(r)s");
  CHECK(config.redis.enabled);
  CHECK(config.redis.port == 6380);
  CHECK(config.metrics.port == 0);
  CHECK(config.metrics.instance == "east");
  CHECK(config.app_config.get_string("greeting") == "hi");
  CHECK(config.app_config.get_double("ratio") == 0.5);
  CHECK(config.app_config.get_bool("verbose"));
  CHECK(config.app_config.get_int("db.port") == 5432);
}

TEST_CASE("environment overrides the file, the command line overrides both") {
  TomlFile file("workers = 3\n[redis]\nport = 6380\nhost = \"file-host\"\n");
  Config from_file = loaded({"-c", file.path()});
  CHECK(from_file.workers == 3);

  Config from_env = loaded({"-c", file.path()}, {"GUNICORN_WORKERS=5", "REDIS_PORT=6390"});
  CHECK(from_env.workers == 5);
  CHECK(from_env.redis.port == 6390);
  CHECK(from_env.redis.host == "file-host");

  Config from_cli = loaded({"-c", file.path(), "--workers", "7"}, {"GUNICORN_WORKERS=5"});
  CHECK(from_cli.workers == 7);
}

TEST_CASE("command-line binds replace the file's binds; repeated flags add up") {
  TomlFile file("bind = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n");
  Config config = loaded({"-c", file.path(), "-b", "[::1]:0", "--bind=:9100"});
  REQUIRE(config.binds.size() == 2);
  CHECK(config.binds[0].host == "::1");
  CHECK(config.binds[0].port == 0);
  CHECK(config.binds[1].host == "0.0.0.0");
  CHECK(config.binds[1].port == 9100);
}

TEST_CASE("the last of a repeated single-value flag wins") {
  CHECK(loaded({"-w", "2", "--workers=4"}).workers == 4);
}

TEST_CASE("errors from several layers are all reported") {
  TomlFile file("workers = 0\n");
  std::string message = error_of({"-c", file.path(), "--timeout", "x"}, {"REDIS_PORT=0"});
  CHECK(message == file.at(1) + "workers: must be at least 1, got 0\n" +
                       "environment: REDIS_PORT: must be between 1 and 65535, got 0\n" +
                       "command line: --timeout: expected a number, got \"x\"");
}

TEST_CASE("reload re-reads the running file with the same environment and flags on top") {
  TomlFile file("workers = 3\ntimeout = 10\n");
  std::vector<std::string> args = {"prefork", "-c", file.path(), "--timeout", "20"};
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  const char* envp[] = {"REDIS_DB=4", nullptr};

  LoadResult first = load(int(args.size()), argv.data(), envp);
  REQUIRE(first.config);
  CHECK(first.config->workers == 3);

  file.rewrite("workers = 6\ntimeout = 10\nkeepalive = 9\n");
  LoadResult second = reload(*first.config, int(args.size()), argv.data(), envp);
  REQUIRE(second.config);
  CHECK(second.config->workers == 6);
  CHECK(second.config->keepalive == 9);
  CHECK(second.config->timeout == 20);
  CHECK(second.config->redis.db == 4);
  CHECK(second.config->config_file == file.path());

  file.rewrite("workers = \"many\"\n");
  LoadResult broken = reload(*first.config, int(args.size()), argv.data(), envp);
  CHECK_FALSE(broken.config);
  CHECK(broken.exit_code == 2);
  CHECK(broken.message == file.at(1) + "workers: expected an integer, got a string");
}
