// A real forked worker writing its metrics to a directory of .db files, or to a shared-memory
// slot flushed to a real redis-server, read back as the master reads them.
#include <dirent.h>
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "examples/hello/hello_app.hpp"
#include "examples/metrics/shop_app.hpp"
#include "metrics/aggregate.hpp"
#include "metrics/slot.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/storage_dict.hpp"
#include "support/redis_server.hpp"
#include "tests/unit/worker/harness.hpp"
#include "worker/builtin_metrics.hpp"
#include "worker/run.hpp"

using namespace prefork;
using namespace prefork::testing;

namespace {

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/prefork-wmetrics-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  bool empty() const { return std::filesystem::is_empty(path); }
  std::string path;
};

// The value of a sample whose labels include every one of `labels`; nullopt when absent.
std::optional<double> find(const std::vector<metrics::Family>& families,
                           const std::string& sample_name, const metrics::Labels& labels) {
  for (const metrics::Family& family : families) {
    for (const metrics::Sample& sample : family.samples) {
      if (sample.name != sample_name) continue;
      bool matches = true;
      for (const auto& wanted : labels) {
        bool present = false;
        for (const auto& label : sample.labels) present = present || label == wanted;
        matches = matches && present;
      }
      if (matches) return sample.value;
    }
  }
  return std::nullopt;
}

void send_requests(int port, int count, std::string_view request) {
  RawClient client(port);
  for (int i = 0; i < count; ++i) {
    client.send(request);
    REQUIRE(client.read_response());
  }
}

const metrics::Labels worker_7 = {{"worker_id", "7"}};

}  // namespace

TEST_CASE("file storage: requests, durations, failures and the app's own metrics in .db files") {
  TempDir directory;
  config::Config config = test_config();
  WorkerProcess worker(config, examples::ShopApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  send_requests(worker.port(), 5, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  send_requests(worker.port(), 2, "GET /missing/42 HTTP/1.1\r\nHost: h\r\n\r\n");
  send_requests(worker.port(), 3,
                "POST /order?item=pen HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");

  storage::file::FileCollector collector(directory.path);
  std::vector<metrics::Family> families;
  bool counted = eventually([&] {
    families = collector.collect();
    return find(families, "gunicorn_worker_requests_total", worker_7) == 10.0;
  });
  CHECK(counted);
  CHECK(find(families, "gunicorn_worker_request_duration_seconds_count", worker_7) == 10.0);
  CHECK(find(families, "gunicorn_worker_response_size_bytes_count", worker_7) == 10.0);
  CHECK(find(families, "gunicorn_worker_failed_requests_total",
             {{"worker_id", "7"},
              {"method", "GET"},
              {"endpoint", "other"},
              {"status_class", "4xx"},
              {"error_type", "client_error"}}) == 2.0);
  CHECK(find(families, "shop_orders_total", {{"item", "pen"}}) == 3.0);
  CHECK(find(families, "shop_orders_total", {{"item", "book"}}) == 0.0);
  CHECK(find(families, "gunicorn_worker_state", worker_7) == 1.0);
  CHECK(find(families, "gunicorn_worker_memory_bytes", worker_7).value_or(0) > 0);
  CHECK(find(families, "gunicorn_worker_uptime_seconds", worker_7).has_value());
  CHECK(find(families, "gunicorn_worker_cpu_percent", worker_7).has_value());
  CHECK(collector.errors().empty());

  CHECK(worker.stop_gracefully() == prefork::exit_ok);
  families = collector.collect();
  CHECK(find(families, "gunicorn_worker_state", worker_7) == 0.0);
  CHECK(find(families, "gunicorn_worker_requests_total", worker_7) == 10.0);
}

TEST_CASE("the metric prefix is configurable") {
  TempDir directory;
  config::Config config = test_config();
  config.metrics.prefix = "shopfront";
  WorkerProcess worker(config, examples::ShopApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  send_requests(worker.port(), 1, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  storage::file::FileCollector collector(directory.path);
  CHECK(eventually([&] {
    return find(collector.collect(), "shopfront_worker_requests_total", worker_7) == 1.0;
  }));
  CHECK_FALSE(find(collector.collect(), "gunicorn_worker_requests_total", worker_7));
}

TEST_CASE("metrics off: no files, and worker.metrics() still works for the app") {
  TempDir directory;
  config::Config config = test_config();
  config.metrics.multiproc_dir = directory.path;
  WorkerProcess worker(config, examples::ShopApp::make, {"", -1, 7});
  REQUIRE(worker.booted());
  send_requests(worker.port(), 3,
                "POST /order?item=book HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  CHECK(worker.stop_gracefully() == prefork::exit_ok);
  CHECK(directory.empty());
}

TEST_CASE("redis storage: the slot's values reach Redis through the worker's flusher") {
  RedisServer redis;
  config::Config config = test_config();
  config.redis.enabled = true;
  config.redis.host = redis.host();
  config.redis.port = redis.port();
  config.metrics.flush_interval_ms = 50;
  TempDir directory;
  int slot = metrics::create_slot();
  WorkerProcess worker(config, examples::ShopApp::make, {"", slot, 7});
  REQUIRE(worker.booted());
  send_requests(worker.port(), 4, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  send_requests(worker.port(), 1, "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");

  storage::RedisStorageClient client(storage::resolve_endpoint(config.redis, "").value());
  storage::RedisStorageDict dict(client, config.redis.key_prefix, config.redis.ttl_seconds);
  storage::RedisMultiProcessCollector collector(dict);
  std::vector<metrics::Family> families;
  CHECK(eventually([&] {
    families = collector.collect();
    return find(families, "gunicorn_worker_requests_total", worker_7) == 5.0;
  }));
  CHECK(find(families, "gunicorn_worker_request_duration_seconds_count", worker_7) == 5.0);
  CHECK(find(families, "gunicorn_worker_memory_bytes", worker_7).value_or(0) > 0);

  // The slot holds the same values: what the master flushes after reaping.
  metrics::SlotContents in_slot;
  CHECK(metrics::read_slot(slot, "reader", in_slot).ok());
  CHECK(find(metrics::aggregate(in_slot.values), "gunicorn_worker_requests_total", worker_7) ==
        5.0);
  // The id of the worker's Redis connection, for the master to cut it off after a SIGKILL.
  CHECK(in_slot.storage_client > 0);
  close(slot);
  CHECK(directory.empty());
}

TEST_CASE("redis storage: a graceful stop flushes what the timer has not sent yet") {
  RedisServer redis;
  config::Config config = test_config();
  config.redis.enabled = true;
  config.redis.host = redis.host();
  config.redis.port = redis.port();
  config.metrics.flush_interval_ms = 600000;
  int slot = metrics::create_slot();
  WorkerProcess worker(config, examples::ShopApp::make, {"", slot, 7});
  close(slot);
  REQUIRE(worker.booted());
  send_requests(worker.port(), 6, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(worker.stop_gracefully() == prefork::exit_ok);

  storage::RedisStorageClient client(storage::resolve_endpoint(config.redis, "").value());
  storage::RedisStorageDict dict(client, config.redis.key_prefix, config.redis.ttl_seconds);
  auto families = storage::RedisMultiProcessCollector(dict).collect();
  CHECK(find(families, "gunicorn_worker_requests_total", worker_7) == 6.0);
  CHECK(find(families, "gunicorn_worker_state", worker_7) == 0.0);
}

namespace {

// Throws from handle() itself, as an async app's bug would: a standard exception, or an int;
// /items names its route first, then throws with its Responder moved away (still held by a
// posted task) or dropped.
class ThrowingAsyncApp final : public App {
 public:
  void handle(const Request& request, Responder responder) override {
    if (request.path() == "/int") throw 42;
    if (request.path().starts_with("/items/")) {
      request.set_route("items");
      if (request.query() == "posted") {
        request.worker().post(
            [r = std::move(responder)]() mutable { r.send(Response::text(202, "posted\n")); });
      }
      throw std::length_error("bad item");
    }
    throw std::out_of_range("no such item");
  }
  static std::unique_ptr<App> make(const AppConfig&) {
    return std::make_unique<ThrowingAsyncApp>();
  }
};

}  // namespace

TEST_CASE("an async handler's exceptions count in error_handling by their type") {
  TempDir directory;
  WorkerProcess worker(test_config(), ThrowingAsyncApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  send_requests(worker.port(), 1, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  send_requests(worker.port(), 2, "GET /int HTTP/1.1\r\nHost: h\r\n\r\n");
  // Counted in the catch, just after the 500 has gone out: waited for, not read at once.
  const std::string name = "gunicorn_worker_error_handling_total";
  const metrics::Labels thrown = {{"worker_id", "7"},
                                  {"method", "POST"},
                                  {"endpoint", "other"},
                                  {"error_type", "std::out_of_range"}};
  const metrics::Labels thrown_int = {
      {"worker_id", "7"}, {"method", "GET"}, {"endpoint", "other"}, {"error_type", "int"}};
  storage::file::FileCollector collector(directory.path);
  std::vector<metrics::Family> families;
  CHECK(eventually([&] {
    families = collector.collect();
    return find(families, name, thrown) == 1.0 && find(families, name, thrown_int) == 2.0;
  }));
  CHECK(find(families, "gunicorn_worker_failed_requests_total",
             {{"worker_id", "7"}, {"status_class", "5xx"}, {"method", "GET"}}) == 2.0);
}

namespace {

// A sync app naming its routes: /users/… throws after naming "users".
class RoutedSyncApp final : public SyncApp {
 public:
  Response respond(const Request& request) override {
    if (request.path().starts_with("/users/")) {
      request.set_route("users");
      throw std::runtime_error("no such user");
    }
    return Response::text(200, "ok\n");
  }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<RoutedSyncApp>(); }
};

// The error_handling count of worker 7 for this method, endpoint and type.
std::optional<double> errors_handled(const std::vector<metrics::Family>& families,
                                     std::string method, std::string endpoint,
                                     std::string error_type) {
  return find(families, "gunicorn_worker_error_handling_total",
              {{"worker_id", "7"},
               {"method", std::move(method)},
               {"endpoint", std::move(endpoint)},
               {"error_type", std::move(error_type)}});
}

}  // namespace

TEST_CASE("error_handling's endpoint is the route the app named, on the loop") {
  TempDir directory;
  WorkerProcess worker(test_config(), ThrowingAsyncApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  RawClient client(worker.port());
  client.send("GET /items/1 HTTP/1.1\r\nHost: h\r\n\r\n");
  auto dropped = client.read_response();
  REQUIRE(dropped);
  CHECK(dropped->status == 500);
  // The Responder escaped into a posted task: its answer stands, the exception still counts.
  client.send("GET /items/2?posted HTTP/1.1\r\nHost: h\r\n\r\n");
  auto posted = client.read_response();
  REQUIRE(posted);
  CHECK(posted->status == 202);
  send_requests(worker.port(), 1, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n");
  storage::file::FileCollector collector(directory.path);
  std::vector<metrics::Family> families;
  CHECK(eventually([&] {
    families = collector.collect();
    return errors_handled(families, "GET", "items", "std::length_error") == 2.0 &&
           errors_handled(families, "GET", "other", "std::out_of_range") == 1.0;
  }));
}

TEST_CASE("error_handling's endpoint is the route a sync app named, on the loop and on threads") {
  for (const char* worker_class : {"sync", "threads"}) {
    CAPTURE(worker_class);
    TempDir directory;
    config::Config config = test_config();
    config.worker_class = worker_class;
    WorkerProcess worker(config, RoutedSyncApp::make, {directory.path, -1, 7});
    REQUIRE(worker.booted());
    send_requests(worker.port(), 3, "DELETE /users/9 HTTP/1.1\r\nHost: h\r\n\r\n");
    storage::file::FileCollector collector(directory.path);
    std::vector<metrics::Family> families;
    CHECK(eventually([&] {
      families = collector.collect();
      return errors_handled(families, "DELETE", "users", "std::runtime_error") == 3.0;
    }));
    CHECK_FALSE(errors_handled(families, "DELETE", "other", "std::runtime_error"));
  }
}

namespace {

// threads: /late hands its Responder to the loop, which answers at once, then names its route
// and throws while the client has its answer and goes on: the exchange must outlive the handler
// (ASan tells when it does not). Other paths answer 200.
class PostThenThrowApp final : public App {
 public:
  void handle(const Request& request, Responder responder) override {
    if (request.path() != "/late") {
      responder.send(Response::text(200, "ok\n"));
      return;
    }
    auto sent = std::make_shared<std::promise<void>>();
    std::future<void> answered = sent->get_future();
    request.worker().post([sent, r = std::move(responder)]() mutable {
      r.send(Response::text(200, "answered\n"));
      sent->set_value();
    });
    answered.wait_for(std::chrono::seconds(5));
    // Part of the scenario, not a synchronisation: the client reads the answer and moves on.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    request.set_route("late");
    throw std::domain_error("after the answer");
  }
  static std::unique_ptr<App> make(const AppConfig&) {
    return std::make_unique<PostThenThrowApp>();
  }
};

}  // namespace

TEST_CASE("threads: a handler that throws after its answer left from the loop counts its route") {
  TempDir directory;
  config::Config config = test_config();
  config.worker_class = "threads";
  config.threads = 2;
  WorkerProcess worker(config, PostThenThrowApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  storage::file::FileCollector collector(directory.path);
  {
    RawClient client(worker.port());
    client.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    auto answer = client.read_response();
    REQUIRE(answer);
    CHECK(answer->body == "answered\n");
    // Pipelined behind it, while its handler still runs: answered once that has returned,
    // which the loop hears of after the exception (both posted from the handler's thread).
    client.send("POST /next HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    auto next = client.read_response();
    REQUIRE(next);
    CHECK(next->body == "ok\n");
    CHECK(errors_handled(collector.collect(), "GET", "late", "std::domain_error") == 1.0);
  }
  // The closed connection's exchange too waits for its handler.
  {
    RawClient client(worker.port());
    client.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(client.read_response());
  }
  send_requests(worker.port(), 2, "DELETE /other HTTP/1.1\r\nHost: h\r\n\r\n");
  std::vector<metrics::Family> families;
  CHECK(eventually([&] {
    families = collector.collect();
    return errors_handled(families, "GET", "late", "std::domain_error") == 2.0;
  }));
  CHECK_FALSE(errors_handled(families, "GET", "other", "std::domain_error"));
  CHECK_FALSE(errors_handled(families, "DELETE", "late", "std::domain_error"));
}

TEST_CASE("failed requests are labelled by a bounded method set") {
  CHECK(worker::method_label("GET") == "GET");
  CHECK(worker::method_label("PATCH") == "PATCH");
  CHECK(worker::method_label("BREW") == "OTHER");
  CHECK(worker::method_label("") == "OTHER");
}

namespace {

// Leaves the worker no descriptor to spare once it has started: every accept fails (EMFILE).
// A limit below the descriptors already open closes none of them. Under UBSan this worker
// prints "invalid vptr" for the log's ostringstream: the sanitizer checks that the object's
// memory is readable with a pipe(), which fails here too; the object is fine.
class NoSpareFdApp : public examples::HelloApp {
 public:
  void on_worker_start(Worker&) override {
    rlimit limit{3, 3};
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<NoSpareFdApp>(); }
};

}  // namespace

TEST_CASE("a client the worker cannot accept (EMFILE) is counted and left queued, not reset") {
  TempDir directory;
  WorkerProcess worker(test_config(), NoSpareFdApp::make, {directory.path, -1, 7});
  REQUIRE(worker.booted());
  RawClient client(worker.port());
  client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  storage::file::FileCollector collector(directory.path);
  CHECK(eventually([&] {
    return find(collector.collect(), "gunicorn_worker_accept_errors_total", worker_7).value_or(0) >=
           2;
  }));
  CHECK(client.silent_for(300ms));
}
