// The worker's connection handling under slow, hostile and many clients.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "examples/hello/hello_app.hpp"
#include "tests/unit/worker/harness.hpp"
#include "worker/server.hpp"

using namespace prefork;
using namespace prefork::testing;

TEST_CASE("a slow body as the first request gets body_timeout, not header_timeout") {
  config::Config config = test_config();
  config.limits.header_timeout = 0.3;
  config.limits.body_timeout = 3;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n");
  // Each byte comes well within body_timeout; together they take longer than header_timeout.
  const std::string body = "slowbody";
  for (char byte : body) {
    std::this_thread::sleep_for(100ms);
    REQUIRE(client.send_within(std::string_view(&byte, 1), 1s));
  }
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == body);
}

namespace {

// Answers with the size of the request body, so a test need not read a large echo back.
class BodySizeApp final : public SyncApp {
 public:
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<BodySizeApp>(); }
  Response respond(const Request& request) override {
    return Response::text(200, std::to_string(request.body().size()));
  }
};

std::string one_byte_chunks(std::size_t count) {
  std::string body;
  body.reserve(count * 6 + 5);
  for (std::size_t i = 0; i < count; ++i) body.append("1\r\nx\r\n");
  body.append("0\r\n\r\n");
  return body;
}

const std::string chunked_head =
    "POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("600000 one-byte chunks are answered: framing takes no buffer space") {
  WorkerProcess worker(test_config(), BodySizeApp::make);
  RawClient client(worker.port());
  // 3.6 MB on the wire, 600 KB decoded: within max_body_size (1 MiB), beyond the buffer limit
  // if the framing were kept.
  REQUIRE(client.send_within(chunked_head + one_byte_chunks(600000), 20s));
  auto response = client.read_response(false, 10s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "600000");
}

TEST_CASE("a chunked body whose framing outgrows max_body_size but whose data does not is served") {
  config::Config config = test_config();
  config.limits.max_body_size = 10000;
  // Small head limits keep the buffer limit (head, body and read room) near 30 KB.
  config.limits.request_fields = 10;
  config.limits.request_field_size = 200;
  WorkerProcess worker(config, BodySizeApp::make);
  RawClient client(worker.port());
  // 54 KB raw for 9000 bytes of data; the keep-alive connection serves another request after.
  REQUIRE(client.send_within(chunked_head + one_byte_chunks(9000), 10s));
  auto response = client.read_response(false, 10s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "9000");
  client.send("GET /size HTTP/1.1\r\nHost: t\r\n\r\n");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "0");
}

TEST_CASE("a chunked body beyond max_body_size gets 413") {
  config::Config config = test_config();
  config.limits.max_body_size = 10000;
  WorkerProcess worker(config, BodySizeApp::make);
  RawClient client(worker.port());
  // The server answers as soon as the limit is passed; the rest may not be read at all.
  client.send_within(chunked_head + one_byte_chunks(20000), 5s);
  auto response = client.read_response(false, 10s);
  REQUIRE(response);
  CHECK(response->status == 413);
}

namespace {

// Answers /held with the number of workspaces the server's connections hold, /objects with the
// number of connection objects it has, "ok" otherwise.
class WorkspaceCountApp final : public SyncApp {
 public:
  static std::unique_ptr<App> make(const AppConfig&) {
    return std::make_unique<WorkspaceCountApp>();
  }
  void on_worker_start(Worker& worker) override {
    server_ = dynamic_cast<worker::Server*>(&worker);
  }
  Response respond(const Request& request) override {
    if (!server_) return Response::text(500, "not a worker::Server");
    if (request.path() == "/held")
      return Response::text(200, std::to_string(server_->workspaces_held()));
    if (request.path() == "/objects") {
      return Response::text(200, std::to_string(server_->connection_objects()));
    }
    return Response::text(200, "ok");
  }

 private:
  worker::Server* server_ = nullptr;
};

// Raises the soft limit on open files to at least `wanted`; false when the hard limit is lower.
bool allow_open_files(rlim_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted) return false;
  limit.rlim_cur = wanted;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace

TEST_CASE("idle keep-alive connections hold no read buffer, closed ones give their memory back") {
  constexpr int idle_connections = 2000;
  if (!allow_open_files(idle_connections + 200)) {
    MESSAGE("skipped: the open files limit is below ", idle_connections + 200);
    return;
  }
  config::Config config = test_config();
  config.worker_connections = idle_connections + 100;
  WorkerProcess worker(config, WorkspaceCountApp::make);
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < idle_connections; ++i) {
    auto client = std::make_unique<RawClient>(worker.port());
    client->send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto response = client->read_response();
    REQUIRE(response);
    REQUIRE(response->body == "ok");
    clients.push_back(std::move(client));
  }
  RawClient asking(worker.port());
  asking.send("GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
  auto held = asking.read_response();
  REQUIRE(held);
  // At most the spare pool's worth (64): an idle connection holds none, and the asking one
  // holds one while it is answered.
  CHECK(std::stoi(held->body) <= 64);
  // An idle connection takes a workspace again for its next request.
  for (int i = 0; i < idle_connections; i += 100) {
    clients[std::size_t(i)]->send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto response = clients[std::size_t(i)]->read_response();
    REQUIRE(response);
    CHECK(response->body == "ok");
  }
  // Once they close, the server keeps at most 256 spare connection objects.
  clients.clear();
  CHECK(eventually([&] {
    asking.send("GET /objects HTTP/1.1\r\nHost: t\r\n\r\n");
    auto objects = asking.read_response();
    return objects && std::stoi(objects->body) <= 256 + 1;
  }));
}
