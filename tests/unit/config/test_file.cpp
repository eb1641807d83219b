// Every way a TOML file can be wrong, each reported as "FILE:LINE: KEY: what is wrong".
#include "load_helpers.hpp"

#include <algorithm>

using namespace prefork::config;
using namespace prefork::config::testing;

namespace {

struct BadFile {
  const char* toml;      // the bad setting sits on line 3, after a comment and a good setting
  const char* expected;  // the message after "FILE:3: "
};

std::string file_error(const std::string& toml) {
  TomlFile file(toml);
  std::string message = error_of({"-c", file.path()});
  std::string prefix = file.at(3);
  REQUIRE_MESSAGE(message.rfind(prefix, 0) == 0, message);
  return message.substr(prefix.size());
}

}  // namespace

TEST_CASE("each bad setting names file, line and key") {
  const BadFile cases[] = {
      {"workers = \"4\"", "workers: expected an integer, got a string"},
      {"workers = 2.5", "workers: expected an integer, got a float"},
      {"workers = 0", "workers: must be at least 1, got 0"},
      {"threads = 0", "threads: must be at least 1, got 0"},
      {"wokers = 4", "wokers: unknown key (did you mean workers?)"},
      {"frobnicate = 1", "frobnicate: unknown key"},
      {"timeout = -1", "timeout: must not be negative, got -1"},
      {"graceful_timeout = -0.5", "graceful_timeout: must not be negative, got -0.5"},
      {"header_timeout = 0", "header_timeout: must be greater than 0, got 0"},
      {"worker_class = \"gevent\"",
       "worker_class: unknown worker class \"gevent\"; choices: uv, threads"},
      {"loglevel = \"verbose\"",
       "loglevel: unknown log level \"verbose\"; choices: debug, info, warning, error, critical"},
      {"bind = \"localhost\"",
       "bind: expected HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N, got \"localhost\""},
      {"bind = \"127.0.0.1:65536\"", "bind: expected a port 0..65535, got \"127.0.0.1:65536\""},
      {"bind = [\"127.0.0.1:80\", 81]",
       "bind: expected an array of strings, got an array containing an integer"},
      {"bind = []", "bind: needs at least one address"},
      {"bind = 8000", "bind: expected a string or an array of strings, got an integer"},
      {"reuse_port = \"yes\"", "reuse_port: expected a boolean, got a string"},
      {"umask = 0o1000",
       "umask: expected a permission mask 0o000..0o777 (write it in octal, e.g. 0o022), got 512"},
      {"max_body_size = -1", "max_body_size: must not be negative, got -1"},
      {"pidfile = 1979-05-27", "pidfile: expected a string, got a date or time"},
      {"proc_name = \"\"", "proc_name: must not be empty (a process title name)"},
      {"app = \"libhello.so\"", "app: expected \"path/libapp.so:name\", got \"libhello.so\""},
      {"redis = 5", "redis: expected a table, got an integer"},
      {"\"redis.port\" = 6380",
       "\"redis.port\": unknown key; to set redis.port, write it without quotes"},
      {"\"a.b\" = 1", "\"a.b\": unknown key"},
      {"[redis]\nport = 70000", "redis.port: must be between 1 and 65535, got 70000"},
      {"[redis]\nhots = \"x\"", "redis.hots: unknown key (did you mean redis.host?)"},
      {"[redis]\nssl_cert_reqs = \"optional\"",
       "redis.ssl_cert_reqs: expected \"required\" (check the server's certificate) or \"none\", "
       "got \"optional\""},
      {"[redis]\nssl_ca_certs = \"/nonexistent/ca.pem\"",
       "redis.ssl_ca_certs: cannot read \"/nonexistent/ca.pem\": No such file or directory"},
      {"[redis]\nurl = \"rediss:/example:6380\"",
       "redis.url: expected a redis:// or rediss:// URL, got \"rediss:/example:6380\""},
      {"[redis]\nttl_seconds = -1", "redis.ttl_seconds: must not be negative, got -1"},
      {"[redis]\nttl_disabled = \"on\"", "redis.ttl_disabled: expected a boolean, got a string"},
      {"[redis]\nsentinels = [\"127.0.0.1:26379\", \"s2:port\"]",
       "redis.sentinels: element 2 (\"s2:port\"): expected a port 1..65535"},
      {"[redis]\nsentinels = [\":26379\"]",
       "redis.sentinels: element 1 (\":26379\"): the host is missing"},
      {"[redis]\ncluster_nodes = [\"127.0.0.1:70000\"]",
       "redis.cluster_nodes: element 1 (\"127.0.0.1:70000\"): expected a port 1..65535"},
      {"[redis]\nkey_prefix = \"\"", "redis.key_prefix: must not be empty (a key prefix)"},
      {"[metrics]\nport = -1", "metrics.port: must be between 0 and 65535, got -1"},
      {"[metrics]\nscope = \"all\"",
       "metrics.scope: unknown metrics scope \"all\"; choices: instance, fleet"},
      {"[metrics]\nbind_address = \"everywhere\"",
       "metrics.bind_address: expected an IPv4 or IPv6 address, got \"everywhere\""},
      {"[metrics]\nprefix = \"9lives\"",
       "metrics.prefix: expected a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got "
       "\"9lives\""},
      {"[metrics]\ninstance = \"a:b\"",
       "metrics.instance: must not contain ':', '{', '}' or whitespace (it becomes part of Redis "
       "keys), got "
       "\"a:b\""},
      {"[metrics]\nflush_interval_ms = 0", "metrics.flush_interval_ms: must be at least 1, got 0"},
      {"[metrics]\nduration_buckets = []",
       "metrics.duration_buckets: must not be empty: a histogram needs a bound"},
      {"[metrics]\nduration_buckets = 0.5",
       "metrics.duration_buckets: expected an array of numbers, e.g. [0.001, 0.01, 0.1], got a "
       "float"},
      {"[metrics]\nduration_buckets = [0.1, 0.5, 0.5]",
       "metrics.duration_buckets: element 3 (0.5): must be greater than element 2 (0.5): bounds "
       "go up strictly"},
      {"[metrics]\nduration_buckets = [1, 0.5]",
       "metrics.duration_buckets: element 2 (0.5): must be greater than element 1 (1): bounds go "
       "up strictly"},
      {"[metrics]\nduration_buckets = [0.1, inf]",
       "metrics.duration_buckets: element 2: +Inf is added by itself, leave it out"},
      {"[metrics]\nduration_buckets = [nan]",
       "metrics.duration_buckets: element 1: expected a finite number, got nan"},
      {"[metrics]\nsize_buckets = [-1, 1024]",
       "metrics.size_buckets: element 1: must not be negative, got -1"},
      {"[metrics]\nsize_buckets = [1024, \"4 KiB\"]",
       "metrics.size_buckets: element 2: expected a number, got a string"},
      {"[metrics]\ncleanup_db_files = 0",
       "metrics.cleanup_db_files: expected a boolean, got an integer"},
      {"[app]\nservers = [\"a\", \"b\"]",
       "app.servers: arrays are not supported in [app]; use a table or a string"},
      {"[app.db]\nopened = 2020-01-01",
       "app.db.opened: dates and times are not supported in [app]; use a string"},
  };
  for (const BadFile& bad : cases) {
    std::string toml = std::string("# a comment\n");
    std::string setting = bad.toml;
    // Settings inside a table keep the table header on line 2 and the key on line 3.
    if (setting[0] != '[') toml += "backlog = 64\n";
    toml += setting + "\n";
    CAPTURE(bad.toml);
    CHECK(file_error(toml) == bad.expected);
  }
}

TEST_CASE("an unknown table is reported at its header") {
  TomlFile file("workers = 2\n[nginx]\nworkers = 1\n");
  CHECK(error_of({"-c", file.path()}) == file.at(2) + "nginx: unknown key");
}

TEST_CASE("a TOML syntax error names the file and line") {
  CHECK(file_error("# x\nworkers = 2\nbacklog 64\n") ==
        "syntax error: missing key-value separator `=`");
  CHECK(file_error("# x\nworkers = 2\nname = \"open\n").rfind("syntax error: ", 0) == 0);
  CHECK(file_error("# x\nworkers = 2\nworkers = 3\n").rfind("syntax error: ", 0) == 0);
}

TEST_CASE("all bad settings of a file are reported, in file order") {
  TomlFile file("workers = 0\n\n[redis]\nport = \"x\"\n[metrics]\nport = 99999\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(1) + "workers: must be at least 1, got 0\n" + file.at(4) +
            "redis.port: expected an integer, got a string\n" + file.at(6) +
            "metrics.port: must be between 0 and 65535, got 99999");
}

TEST_CASE("settings wrong only together name the file and both keys") {
  TomlFile file("[redis]\ndb = 1\ncluster_nodes = [\"127.0.0.1:7000\"]\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.path() +
            ": redis.db: 1, but a Redis Cluster has only database 0 (redis.cluster_nodes is set)");
}

TEST_CASE("metrics.scope: instance by default, fleet on one Redis and in a cluster") {
  CHECK(loaded({}).metrics.scope == "instance");
  TomlFile fleet("[metrics]\nscope = \"fleet\"\n");
  CHECK(loaded({"-c", fleet.path()}).metrics.scope == "fleet");
  TomlFile cluster("[redis]\ncluster_nodes = [\"127.0.0.1:7000\"]\n[metrics]\nscope = \"fleet\"\n");
  CHECK(loaded({"-c", cluster.path()}).metrics.scope == "fleet");
}

TEST_CASE("histogram buckets: arrays of numbers, integers and floats alike") {
  TomlFile file("[metrics]\nduration_buckets = [0.0005, 1, 2.5, 60]\nsize_buckets = [0, 512]\n");
  Config config = loaded({"-c", file.path()});
  CHECK(config.metrics.duration_buckets == std::vector<double>{0.0005, 1, 2.5, 60});
  CHECK(config.metrics.size_buckets == std::vector<double>{0, 512});
}

TEST_CASE("the default buckets keep sub-millisecond bounds and every bound of the exporter") {
  const Metrics defaults;
  CHECK(defaults.duration_buckets.front() < 0.001);
  // gunicorn-prometheus-exporter's request duration and size buckets (its metrics.py).
  for (double bound : {0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0}) {
    CAPTURE(bound);
    CHECK(std::count(defaults.duration_buckets.begin(), defaults.duration_buckets.end(), bound) ==
          1);
  }
  // prometheus_client's default buckets, which dashboards made for it query.
  for (double bound : {.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0}) {
    CAPTURE(bound);
    CHECK(std::count(defaults.duration_buckets.begin(), defaults.duration_buckets.end(), bound) ==
          1);
  }
  for (double bound : {1024, 4096, 16384, 65536, 262144, 1048576, 4194304}) {
    CAPTURE(bound);
    CHECK(std::count(defaults.size_buckets.begin(), defaults.size_buckets.end(), bound) == 1);
  }
  CHECK(std::is_sorted(defaults.duration_buckets.begin(), defaults.duration_buckets.end()));
  CHECK(std::is_sorted(defaults.size_buckets.begin(), defaults.size_buckets.end()));
}

TEST_CASE("a missing or unreadable config file is an error naming it") {
  CHECK(error_of({"-c", "/nonexistent/prefork.toml"}) ==
        "/nonexistent/prefork.toml: cannot read the config file: No such file or directory");
  CHECK(error_of({"-c", "/tmp"}) == "/tmp: cannot read the config file: not a regular file");
}
