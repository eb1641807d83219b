// --print-config: the effective configuration as TOML that loads back to the same values.
#include "load_helpers.hpp"

using namespace prefork::config;
using namespace prefork::config::testing;

namespace {

// The configuration printed, written to a file and loaded from it.
Config reloaded(const std::string& text) {
  TomlFile file(text);
  return loaded({"-c", file.path()});
}

}  // namespace

TEST_CASE("--print-config of the defaults loads back to the defaults") {
  Config defaults = loaded({});
  std::string text = printed(defaults);
  INFO(text);
  CHECK(text.find("\nworkers = " + std::to_string(defaults.workers) + "\n") != std::string::npos);
  CHECK(text.find("\nbind = \"127.0.0.1:8000\"\n") != std::string::npos);
  CHECK(text.find("\numask = 0o000\n") != std::string::npos);
  CHECK(text.find("\n# pidfile = none\n") != std::string::npos);
  CHECK(text.find("\n# metrics.multiproc_dir = a private temp dir\n") != std::string::npos);
  CHECK(text.find("\nconfig = ") == std::string::npos);  // flags only are not printed
  CHECK(printed(reloaded(text)) == text);
}

TEST_CASE("--print-config round-trips every layer's settings, with the passwords hidden") {
  TomlFile file(R"(workers = 3
bind = ["127.0.0.1:0", "unix:/tmp/p.sock"]
timeout = 0.125
umask = 0o027
raw_env = ["A=1", "QUOTE=say \"hi\""]
access_log_format = "%(h)s\t%(r)s"
secure_scheme_headers = { "X-SCHEME" = "https" }
forwarded_allow_ips = "10.0.0.0/8, 127.0.0.1"
[redis]
enabled = true
password = "secret-password"
sentinels = ["10.0.0.1:26379", "10.0.0.2:26379"]
sentinel_password = "secret-sentinel"
url = "redis://user:secret-url@cache:6390/1"
command_timeout = 1e-3
[metrics]
multiproc_dir = "/tmp/multiproc"
instance = "web1"
[app]
greeting = "Hello\nworld"
count = 7
ratio = 1.0
small = 0.1
debug = true
db.host = "db1"
"odd key" = "x"
"dotted.key" = "y"
)");
  Config config = loaded({"-c", file.path(), "-w", "5", "-e", "B=2", "-m", "022", "-D"},
                         {"REDIS_USERNAME=alice"});
  std::string text = printed(config);
  INFO(text);
  CHECK(text.find("secret") == std::string::npos);
  CHECK(text.find("\nredis.password = \"***\"\n") != std::string::npos);
  CHECK(text.find("\nredis.sentinel_password = \"***\"\n") != std::string::npos);
  CHECK(text.find("\nredis.url = \"redis://user:***@cache:6390/1\"\n") != std::string::npos);
  CHECK(text.find("\nraw_env = [\"B=2\"]\n") != std::string::npos);
  CHECK(text.find("\numask = 0o022\n") != std::string::npos);
  CHECK(text.find("\ndaemon = true\n") != std::string::npos);

  Config back = reloaded(text);
  CHECK(printed(back) == text);
  CHECK(back.workers == 5);
  CHECK(back.binds.size() == 2);
  CHECK(back.timeout == 0.125);
  CHECK(back.umask == 022);
  CHECK(back.raw_env == config.raw_env);
  CHECK(back.daemon);
  CHECK(back.access_log_format == config.access_log_format);
  CHECK(back.secure_scheme_headers == config.secure_scheme_headers);
  CHECK(back.forwarded_allow_ips.text() == config.forwarded_allow_ips.text());
  CHECK(back.redis.username == "alice");
  CHECK(back.redis.sentinels == config.redis.sentinels);
  CHECK(back.redis.command_timeout == config.redis.command_timeout);
  CHECK(back.metrics == config.metrics);
  CHECK(back.app_config.values() == config.app_config.values());
  // Only the passwords differ: they are hidden, not printed.
  CHECK(back.redis.password == "***");
  CHECK(back.redis.sentinel_password == "***");
  Config unhidden = back;
  unhidden.redis.password = config.redis.password;
  unhidden.redis.sentinel_password = config.redis.sentinel_password;
  unhidden.redis.url = config.redis.url;
  CHECK(unhidden.redis == config.redis);
}

TEST_CASE("--print-config writes app as a comment beside [app]: TOML cannot hold both") {
  TomlFile file("[app]\ngreeting = \"hi\"\n");
  Config config = loaded({"-c", file.path(), "--app", "lib/libhello.so:hello"});
  std::string text = printed(config);
  INFO(text);
  CHECK(text.find("\n# app = \"lib/libhello.so:hello\" (give it with --app") != std::string::npos);
  TomlFile again(text);
  Config back = loaded({"-c", again.path(), "--app", "lib/libhello.so:hello"});
  CHECK(printed(back) == text);
  CHECK(back.app == config.app);
  CHECK(back.app_config.values() == config.app_config.values());

  Config app_only = loaded({"--app", "lib/libhello.so:hello"});
  std::string app_text = printed(app_only);
  CHECK(app_text.find("\napp = \"lib/libhello.so:hello\"\n") != std::string::npos);
  CHECK(app_text.find("[app]") == std::string::npos);
  CHECK(reloaded(app_text).app == app_only.app);
}
