// RedisStorageClient, RedisStorageDict, RedisValue and the collector against a real
// redis-server (with and without requirepass).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "fixture.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/value.hpp"
#include "support/eventually.hpp"

using namespace prefork::storage;
using prefork::metrics::GaugeMode;
using prefork::metrics::ProcessValues;
using prefork::metrics::Type;
using prefork::testing::RedisServer;
using namespace redis_test;

TEST_CASE("the client authenticates, and a wrong or missing password is an authentication error") {
  RedisServer server({"s3cret"});
  RedisStorageClient good(endpoint_of(server));
  good.connect();
  CHECK(good.ping());

  RedisEndpoint wrong = endpoint_of(server);
  wrong.password = "nope";
  RedisStorageClient bad(wrong);
  CHECK_THROWS_AS(bad.connect(), RedisAuthenticationError);

  RedisEndpoint missing = endpoint_of(server);
  missing.password.clear();
  RedisStorageClient anonymous(missing);
  anonymous.connect();
  CHECK_THROWS_AS(anonymous.command({"GET", "x"}), RedisAuthenticationError);
  CHECK_FALSE(anonymous.ping());
}

TEST_CASE("an ACL user whose password holds / # ? @ % : logs in from a percent-encoded URL") {
  RedisServer server;
  REQUIRE(server.add_user("metrics", "p/#?@%:w"));
  prefork::config::Redis redis = config_of(server);
  redis.url = "redis://metrics:p%2F%23%3F%40%25%3Aw@127.0.0.1:" + std::to_string(server.port());
  prefork::Result<RedisEndpoint> endpoint = resolve_endpoint(redis, "");
  REQUIRE(endpoint.ok());
  RedisStorageClient client(*endpoint);
  client.connect();
  CHECK(reply_text(client.command({"ACL", "WHOAMI"}).get()) == "metrics");

  RedisEndpoint wrong = *endpoint;
  wrong.password = "p/#?@%";
  RedisStorageClient refused(wrong);
  CHECK_THROWS_WITH_AS(refused.connect(), doctest::Contains("refused user metrics's password"),
                       RedisAuthenticationError);
  // A "nopass" user logs in with its name alone.
  REQUIRE(server.add_user("open", ""));
  RedisEndpoint open = endpoint_of(server);
  open.username = "open";
  RedisStorageClient nopass(open);
  nopass.connect();
  CHECK(reply_text(nopass.command({"ACL", "WHOAMI"}).get()) == "open");
}

TEST_CASE("connecting to a port nobody listens on is a connection error") {
  RedisEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = prefork::testing::unused_port();
  endpoint.connect_timeout = 1;
  RedisStorageClient client(endpoint);
  CHECK_THROWS_AS(client.connect(), RedisConnectionError);
  CHECK_FALSE(client.ping());
}

TEST_CASE("a command that takes longer than the command timeout is a timeout error") {
  RedisServer server;
  RedisEndpoint endpoint = endpoint_of(server);
  endpoint.command_timeout = 0.2;
  RedisStorageClient client(endpoint);
  client.connect();
  // CLIENT PAUSE holds every other client's commands longer than the timeout.
  inspector(server)->command({"CLIENT", "PAUSE", "1500", "ALL"});
  CHECK_THROWS_AS(client.command({"GET", "x"}), RedisTimeoutError);
}

TEST_CASE("SELECT puts keys in the configured database") {
  RedisServer server;
  RedisEndpoint endpoint = endpoint_of(server);
  endpoint.db = 5;
  RedisStorageClient client(endpoint);
  client.command({"SET", "where", "five"});
  auto other = inspector(server);
  CHECK(text_of(*other, {"GET", "where"}).empty());
  other->command({"SELECT", "5"});
  CHECK(text_of(*other, {"GET", "where"}) == "five");
}

TEST_CASE("a written value has exactly the documented keys, fields and TTL") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "gunicorn", 300);
  std::string json = key_of("gunicorn_workers", "gunicorn_workers");
  Series series{gauge(GaugeMode::all), "12345", json};
  double before = local_time();
  dict.write_value(series, 2.5, 1700000000.25);

  auto check = inspector(server);
  std::string md5 = prefork::metrics::md5_hex(json);
  std::string metric = "gunicorn:gauge_all:12345:metric:" + md5;
  std::string meta = "gunicorn:gauge_all:12345:meta:" + md5;
  Reply fields = check->command({"HGETALL", metric});
  std::set<std::string> names;
  for (std::size_t i = 0; i < fields->elements; i += 2) {
    names.insert(std::string(reply_text(fields->element[i])));
  }
  CHECK(names == std::set<std::string>{"value", "timestamp", "updated_at"});
  CHECK(text_of(*check, {"HGET", metric, "value"}) == "2.5");
  CHECK(text_of(*check, {"HGET", metric, "timestamp"}) == "1700000000.25");
  double updated = 0;
  REQUIRE(parse_double(text_of(*check, {"HGET", metric, "updated_at"}), updated));
  CHECK(std::fabs(updated - before) < 5);

  CHECK(text_of(*check, {"HGET", meta, "original_key"}) == json);
  CHECK(integer_of(*check, {"HEXISTS", meta, "created_at"}) == 1);
  CHECK(integer_of(*check, {"HLEN", meta}) == 2);

  for (const std::string& key :
       {metric, meta, std::string("gunicorn:processes"), std::string("gunicorn:process:12345")}) {
    long long ttl = integer_of(*check, {"TTL", key});
    CHECK_MESSAGE(ttl > 290, key);
    CHECK_MESSAGE(ttl <= 300, key);
  }
  CHECK(integer_of(*check, {"SISMEMBER", "gunicorn:processes", "12345"}) == 1);
  CHECK(integer_of(*check, {"SISMEMBER", "gunicorn:process:12345", "gauge_all:" + md5}) == 1);
}

TEST_CASE("rewriting known series leaves the index alone; a new connection writes it again") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 300);
  Series series{gauge(GaugeMode::livemax), "7", key_of("g", "g")};
  dict.write_value(series, 1, 0);

  // What a snapshot does: watch the index and the process set, then EXEC.
  auto snapshot = inspector(server);
  snapshot->command({"WATCH", "test:processes", "test:process:7"});
  dict.write_value(series, 2, 0);
  snapshot->command({"MULTI"});
  Reply exec = snapshot->command({"EXEC"});
  CHECK_MESSAGE(exec->type == REDIS_REPLY_ARRAY, "the rewrite modified a watched key");
  CHECK(dict.read_value(series)->value == 2);

  // Redis restarted empty, as far as the keys go: the next connection writes everything.
  auto check = inspector(server);
  check->command({"FLUSHALL"});
  check->command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  REQUIRE(prefork::testing::eventually([&] {
    try {
      dict.write_value(series, 3, 0);
      return true;
    } catch (const RedisError&) {
      return false;
    }
  }));
  CHECK(integer_of(*check, {"SISMEMBER", "test:processes", "7"}) == 1);
  CHECK(text_of(*check,
                {"HGET",
                 dict.layout().meta("gauge_livemax", "7", prefork::metrics::md5_hex(series.key)),
                 "original_key"}) == series.key);
}

TEST_CASE("values are absolute: a later write replaces, NaN and infinities are kept") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  Series series{counter(), "1", key_of("c_total", "c_total")};
  dict.write_value(series, 10, 0);
  dict.write_value(series, 3, 0);
  CHECK(dict.read_value(series)->value == 3);
  dict.write_value(series, NAN, 0);
  CHECK(std::isnan(dict.read_value(series)->value));
  dict.write_value(series, INFINITY, 0);
  CHECK(dict.read_value(series)->value == INFINITY);
  CHECK_FALSE(dict.read_value({counter(), "1", key_of("other_total", "other_total")}));
}

TEST_CASE("map-like access: contains, keys, values, items, size, erase, clear, update") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::string a = key_of("a_total", "a_total"), b = key_of("b", "b");
  dict.update({{counter(), "7", {{a, 1, 0}}}, {gauge(GaugeMode::max), "7", {{b, 2, 5}}}});

  CHECK(dict.contains({counter(), "7", a}));
  CHECK_FALSE(dict.contains({counter(), "8", a}));
  CHECK(dict.size("7") == 2);
  std::vector<Series> keys = dict.keys("7");
  REQUIRE(keys.size() == 2);
  std::vector<double> values = dict.values("7");
  CHECK(std::set<double>(values.begin(), values.end()) == std::set<double>{1, 2});
  std::vector<ProcessValues> items = dict.items("7");
  REQUIRE(items.size() == 2);
  CHECK(dict.processes() == std::vector<std::string>{"7"});

  CHECK(dict.erase({counter(), "7", a}));
  CHECK_FALSE(dict.contains({counter(), "7", a}));
  CHECK(dict.size("7") == 1);
  dict.clear("7");
  CHECK(dict.size("7") == 0);
  CHECK(dict.processes().empty());
  auto check = inspector(server);
  CHECK(integer_of(*check, {"DBSIZE"}) == 0);
}

TEST_CASE("RedisValue: set with timestamp, inc, get, get_timestamp") {
  RedisServer server({"pw"});
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  Series series{gauge(GaugeMode::mostrecent), "3", key_of("g", "g")};
  RedisValue value(dict, series);
  CHECK(value.get() == 0);
  value.set(4, 1234.5);
  value.inc(1.5);
  CHECK(value.get() == 5.5);
  CHECK(value.get_timestamp() == 1234.5);
  // Another handle on the same series starts from the stored value.
  RedisValue again(dict, series);
  again.inc();
  CHECK(value.get() == 6.5);
  auto check = inspector(server);
  CHECK(text_of(*check, {"HGET",
                         dict.layout().metric("gauge_mostrecent", "3",
                                              prefork::metrics::md5_hex(series.key)),
                         "value"}) == "6.5");
}

TEST_CASE("TTLs are refreshed by touch, for the process and its archive") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 100);
  std::string json = key_of("c_total", "c_total");
  dict.write_value({counter(), "9", json}, 1, 0);
  std::string metric = dict.layout().metric("counter", "9", prefork::metrics::md5_hex(json));
  auto check = inspector(server);
  check->command({"EXPIRE", metric, "5"});
  check->command({"EXPIRE", dict.layout().process("9"), "5"});
  CHECK(integer_of(*check, {"TTL", metric}) <= 5);
  dict.touch({"9", dict.archive()});
  CHECK(integer_of(*check, {"TTL", metric}) > 90);
  CHECK(integer_of(*check, {"TTL", dict.layout().process("9")}) > 90);
  CHECK(integer_of(*check, {"TTL", dict.layout().processes()}) > 90);
}

TEST_CASE("a TTL of 0: keys never expire, and a TTL an earlier run left is removed") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 0);
  std::string json = key_of("c_total", "c_total");
  std::string metric = dict.layout().metric("counter", "9", prefork::metrics::md5_hex(json));
  auto check = inspector(server);
  check->command({"HSET", metric, "value", "1"});
  check->command({"EXPIRE", metric, "5"});
  dict.write_value({counter(), "9", json}, 2, 0);
  const std::string keys[] = {metric,
                              dict.layout().meta("counter", "9", prefork::metrics::md5_hex(json)),
                              dict.layout().process("9"), dict.layout().processes()};
  for (const std::string& key : keys) CHECK_MESSAGE(integer_of(*check, {"TTL", key}) == -1, key);

  for (const std::string& key : keys) check->command({"EXPIRE", key, "5"});
  dict.touch({"9"});
  for (const std::string& key : keys) CHECK_MESSAGE(integer_of(*check, {"TTL", key}) == -1, key);

  dict.cleanup_dead_worker("9");
  std::string archived =
      dict.layout().metric("counter", dict.archive(), prefork::metrics::md5_hex(json));
  CHECK(text_of(*check, {"HGET", archived, "value"}) == "2");
  CHECK(integer_of(*check, {"TTL", archived}) == -1);
  CHECK(integer_of(*check, {"TTL", dict.layout().process(dict.archive())}) == -1);
}

namespace {

double total_of(RedisMultiProcessCollector& collector, const std::string& family,
                const std::string& sample) {
  double total = 0;
  bool found = false;
  for (const auto& f : collector.collect()) {
    if (f.name != family) continue;
    for (const auto& s : f.samples) {
      if (s.name == sample) {
        total += s.value;
        found = true;
      }
    }
  }
  return found ? total : NAN;
}

// A plain TCP connection speaking inline commands.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawConnection() { close(fd_); }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
  std::string exchange(const std::string& bytes) {
    send(bytes);
    char reply[256];
    ssize_t got = recv(fd_, reply, sizeof reply, 0);
    REQUIRE(got > 0);
    return std::string(reply, std::size_t(got));
  }

 private:
  int fd_;
};

std::vector<ProcessValues> worker_values(const std::string& process, double requests,
                                         double memory) {
  std::string requests_key = key_of("requests", "requests_total");
  std::string latency_sum = key_of("latency", "latency_sum");
  std::string bucket_low = key_of("latency", "latency_bucket", {{"le", "0.5"}});
  std::string bucket_inf = key_of("latency", "latency_bucket", {{"le", "+Inf"}});
  return {
      {counter(), process, {{requests_key, requests, 0}}},
      {{Type::histogram, {}},
       process,
       {{latency_sum, requests * 0.1, 0}, {bucket_low, requests, 0}, {bucket_inf, 0, 0}}},
      {gauge(GaugeMode::livesum), process, {{key_of("memory", "memory"), memory, 0}}},
      {gauge(GaugeMode::max), process, {{key_of("peak", "peak"), memory, 0}}},
      {gauge(GaugeMode::all), process, {{key_of("state", "state"), 1, 0}}},
  };
}

}  // namespace

TEST_CASE("forked processes write their own values; one collector sums them") {
  RedisServer server({"pw"});
  constexpr int writers = 4;
  std::vector<pid_t> children;
  for (int i = 0; i < writers; ++i) {
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int code = 1;
      try {
        RedisStorageClient client(endpoint_of(server));
        RedisStorageDict dict(client, "test", 60);
        dict.write_values(worker_values(std::to_string(getpid()), 10.0 * (i + 1), 100));
        code = 0;
      } catch (...) {
      }
      _exit(code);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  RedisMultiProcessCollector collector(dict);
  CHECK(total_of(collector, "requests", "requests_total") == 100);
  CHECK(total_of(collector, "memory", "memory") == 400);
  CHECK(total_of(collector, "peak", "peak") == 100);
  CHECK(total_of(collector, "latency", "latency_count") == 100);
  CHECK(collector.read_processes().size() == writers * 5);

  std::string text = collector.render();
  CHECK(text.find("# TYPE requests_total counter") != std::string::npos);
  CHECK(text.find("requests_total 100.0") != std::string::npos);
  CHECK(text.find("latency_bucket{le=\"+Inf\"} 100.0") != std::string::npos);
}

TEST_CASE("cleanup_dead_worker keeps totals, drops live gauges and bounds keys over restarts") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 300, "web");
  RedisMultiProcessCollector collector(dict);
  auto check = inspector(server);

  // Two long-lived workers and one that keeps being replaced.
  dict.write_values(worker_values("web-1", 5, 10));
  dict.write_values(worker_values("web-2", 7, 20));
  std::size_t keys_with_one_restart = 0;
  double expected = 12;
  double previous_total = 0;
  for (int restart = 0; restart < 200; ++restart) {
    std::string process = "web-" + std::to_string(1000 + restart);
    dict.write_values(worker_values(process, 3, 30));
    expected += 3;
    double total = total_of(collector, "requests", "requests_total");
    CHECK(total == expected);
    CHECK(total >= previous_total);
    previous_total = total;

    CleanupResult result = dict.cleanup_dead_worker(process);
    CHECK(result.folded == 5);   // counter, histogram (3 samples), max gauge
    CHECK(result.deleted == 6);  // those 5 and the livesum gauge
    CHECK(result.kept == 1);     // the "all" gauge stays per process until its TTL
    CHECK(total_of(collector, "requests", "requests_total") == expected);
    CHECK(total_of(collector, "latency", "latency_count") == expected);
    CHECK(total_of(collector, "memory", "memory") == 30);  // only web-1 and web-2 are live
    CHECK(total_of(collector, "peak", "peak") == 30);
    // The "all" gauge of a dead process expires by TTL; emulate that here.
    check->command({"DEL", dict.layout().process(process),
                    dict.layout().metric("gauge_all", process,
                                         prefork::metrics::md5_hex(key_of("state", "state"))),
                    dict.layout().meta("gauge_all", process,
                                       prefork::metrics::md5_hex(key_of("state", "state")))});
    long long keys = integer_of(*check, {"DBSIZE"});
    if (restart == 0) keys_with_one_restart = static_cast<std::size_t>(keys);
    CHECK(static_cast<std::size_t>(keys) == keys_with_one_restart);
  }
  // Everything of the dead is in the archive, which the next cleanup keeps adding to.
  CHECK(dict.size("web-archive") == 5);
}

TEST_CASE("several dead workers are folded in one cleanup, each value counted once") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 300, "web");
  RedisMultiProcessCollector collector(dict);
  dict.write_values(worker_values("web-1", 5, 10));
  std::vector<std::string> dead;
  for (int i = 0; i < 30; ++i) {
    dead.push_back("web-" + std::to_string(100 + i));
    dict.write_values(worker_values(dead.back(), 2, 20));
  }
  CHECK(total_of(collector, "requests", "requests_total") == 65);

  CleanupResult result = dict.cleanup_dead_workers(dead);
  CHECK(result.folded == 30 * 5);
  CHECK(result.deleted == 30 * 6);
  CHECK(result.kept == 30);
  CHECK(total_of(collector, "requests", "requests_total") == 65);
  CHECK(total_of(collector, "latency", "latency_count") == 65);
  CHECK(total_of(collector, "peak", "peak") == 20);  // the max of the dead and the live
  CHECK(total_of(collector, "memory", "memory") == 10);
  CHECK(dict.size("web-archive") == 5);
  // A second cleanup of the same processes finds nothing left to fold.
  CHECK(dict.cleanup_dead_workers(dead).folded == 0);
  CHECK(total_of(collector, "requests", "requests_total") == 65);
}

TEST_CASE("the archive outlives a Redis restarted empty: folded into the copy, written again") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 300, "web");
  RedisMultiProcessCollector collector(dict);
  dict.write_values(worker_values("web-1", 5, 10));
  dict.write_values(worker_values("web-100", 3, 20));
  dict.cleanup_dead_worker("web-100");
  REQUIRE(total_of(collector, "requests", "requests_total") == 8);
  std::uint64_t connections = client.connections();

  server.restart();                                  // no persistence: everything is gone
  dict.write_values(worker_values("web-1", 6, 10));  // a live worker writes all it has again
  CHECK(client.connections() == connections + 1);
  CHECK(total_of(collector, "requests", "requests_total") == 6);  // the archive is lost

  // A worker dying now is folded into what the archive was, not into what Redis says.
  dict.write_values(worker_values("web-101", 2, 20));
  CHECK(dict.cleanup_dead_worker("web-101").folded == 5);
  CHECK(total_of(collector, "requests", "requests_total") == 11);
  CHECK(dict.restore_archive() == 5);
  CHECK(total_of(collector, "requests", "requests_total") == 11);
  CHECK(total_of(collector, "latency", "latency_count") == 11);
  CHECK(total_of(collector, "peak", "peak") == 20);
  CHECK(dict.size("web-archive") == 5);

  // A master started later reads the archive it folds into.
  RedisStorageClient later_client(endpoint_of(server));
  RedisStorageDict later(later_client, "test", 300, "web");
  CHECK(later.load_archive() == 5);
  server.restart();
  CHECK(later.restore_archive() == 5);
  RedisMultiProcessCollector later_collector(later);
  CHECK(total_of(later_collector, "requests", "requests_total") == 5);
}

TEST_CASE("a dead worker's connection is cut off: what Redis has not run of it never runs") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 300, "web");
  auto check = inspector(server);
  // The "worker": a raw connection, so that a command can be sent without waiting for it.
  RawConnection worker(server.port());
  long long id = std::stoll(worker.exchange("CLIENT ID\r\n").substr(1));
  // Paused writes wait in Redis, as a dying worker's last batch can.
  check->command({"CLIENT", "PAUSE", "5000", "WRITE"});
  worker.send("SET late 1\r\n");
  CHECK(dict.disconnect_clients({id}));
  check->command({"CLIENT", "UNPAUSE"});
  CHECK(integer_of(*check, {"EXISTS", "late"}) == 0);
  // Gone already (a connection Redis dropped itself): not an error.
  CHECK(dict.disconnect_clients({id}));
}

TEST_CASE("one instance's cleanup never touches another instance's keys") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict web(client, "test", 300, "web");
  RedisStorageDict api(client, "test", 300, "api");
  web.write_values(worker_values("web-5", 1, 1));
  api.write_values(worker_values("api-5", 2, 2));
  web.cleanup_dead_worker(5L);
  CHECK(web.size("web-5") == 1);  // its "all" gauge
  CHECK(api.size("api-5") == 7);
  CHECK(api.size("api-archive") == 0);
  CHECK(web.size("web-archive") == 5);
}

TEST_CASE("two masters of one instance (a USR2 upgrade) both fold into the archive") {
  RedisServer server;
  RedisStorageClient old_client(endpoint_of(server));
  RedisStorageClient new_client(endpoint_of(server));
  RedisStorageDict old_master(old_client, "test", 300, "web");
  RedisStorageDict new_master(new_client, "test", 300, "web");
  RedisMultiProcessCollector collector(old_master);
  old_master.write_values(worker_values("web-100", 3, 20));
  old_master.cleanup_dead_worker("web-100");
  // The new master starts with the archive as it is; then each folds a worker of its own.
  CHECK(new_master.load_archive() == 5);
  old_master.write_values(worker_values("web-101", 2, 10));
  old_master.cleanup_dead_worker("web-101");
  new_master.write_values(worker_values("web-200", 4, 30));
  CHECK(new_master.cleanup_dead_worker("web-200").folded == 5);
  CHECK(total_of(collector, "requests", "requests_total") == 9);
  CHECK(total_of(collector, "latency", "latency_count") == 9);
  CHECK(total_of(collector, "peak", "peak") == 30);
  // Writing an older copy again (the old master reconnected) takes nothing back.
  CHECK(old_master.restore_archive() == 5);
  CHECK(total_of(collector, "requests", "requests_total") == 9);
  CHECK(total_of(collector, "peak", "peak") == 30);
  old_master.write_values(worker_values("web-102", 1, 5));
  old_master.cleanup_dead_worker("web-102");
  CHECK(total_of(collector, "requests", "requests_total") == 10);
}
