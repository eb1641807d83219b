#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "examples/hello/hello_app.hpp"
#include "tests/unit/worker/harness.hpp"

using namespace prefork;
using namespace prefork::testing;

namespace {

constexpr const char* get_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// Answers "/later" only when a "/now" arrives, after answering "/now": answers reach the
// server out of order and must still leave in request order.
class OutOfOrderApp : public App {
 public:
  void handle(const Request& request, Responder responder) override {
    if (request.path() == "/later") {
      held_.push_back(std::move(responder));
      return;
    }
    if (request.path() == "/throw") throw std::runtime_error("handler exploded");
    responder.send(Response::text(200, "now"));
    for (Responder& held : held_) held.send(Response::text(200, "later"));
    held_.clear();
  }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<OutOfOrderApp>(); }

 private:
  std::vector<Responder> held_;
};

class ThrowingSyncApp : public SyncApp {
 public:
  Response respond(const Request&) override { throw std::runtime_error("boom"); }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<ThrowingSyncApp>(); }
};

std::unique_ptr<App> no_app(const AppConfig&) {
  return nullptr;
}

void check_hello(const std::optional<HttpResponse>& response) {
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "Hello, World!");
}

}  // namespace

TEST_CASE("keep-alive: several requests on one connection, with Server and Date") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  for (int i = 0; i < 3; ++i) {
    client.send(get_root);
    auto response = client.read_response();
    check_hello(response);
    CHECK(response->header("Server").value_or("") == "prefork");
    CHECK(response->header("Date").value_or("").size() == 29);
    CHECK(response->header("Content-Length").value_or("") == "13");
    CHECK_FALSE(response->header("Connection"));
  }
}

TEST_CASE("pipelined requests are answered in order, including a chunked body and a 404") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(std::string(get_root) +
              "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
              "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
              "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n"
              "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nwxyz");
  check_hello(client.read_response());
  auto echo = client.read_response();
  REQUIRE(echo);
  CHECK(echo->body == "abcde");
  auto missing = client.read_response();
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto second_echo = client.read_response();
  REQUIRE(second_echo);
  CHECK(second_echo->body == "wxyz");
}

TEST_CASE("answers given out of order by an async handler leave in request order") {
  WorkerProcess worker(test_config(), OutOfOrderApp::make);
  RawClient client(worker.port());
  client.send("GET /later HTTP/1.1\r\nHost: h\r\n\r\nGET /now HTTP/1.1\r\nHost: h\r\n\r\n");
  auto first = client.read_response();
  auto second = client.read_response();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->body == "later");
  CHECK(second->body == "now");
}

TEST_CASE("an exception escaping a handler answers 500 and the connection goes on") {
  SUBCASE("async app") {
    WorkerProcess worker(test_config(), OutOfOrderApp::make);
    RawClient client(worker.port());
    client.send("GET /throw HTTP/1.1\r\nHost: h\r\n\r\nGET /now HTTP/1.1\r\nHost: h\r\n\r\n");
    auto failed = client.read_response();
    REQUIRE(failed);
    CHECK(failed->status == 500);
    auto next = client.read_response();
    REQUIRE(next);
    CHECK(next->body == "now");
  }
  SUBCASE("sync app") {
    WorkerProcess worker(test_config(), ThrowingSyncApp::make);
    RawClient client(worker.port());
    client.send(get_root);
    auto failed = client.read_response();
    REQUIRE(failed);
    CHECK(failed->status == 500);
  }
}

TEST_CASE("every limit answers its status, closes, and the worker serves the next client") {
  config::Config config = test_config();
  config.limits.max_body_size = 100;
  struct Case {
    std::string request;
    int status;
  };
  std::string many_fields = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 101; ++i) many_fields += "X-" + std::to_string(i) + ": v\r\n";
  const Case cases[] = {
      {"GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {many_fields + "\r\n", 431},
      {"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n", 431},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'c'),
       413},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
           std::string(128, 'c') + "\r\n0\r\n\r\n",
       413},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"\x01garbage\r\n\r\n", 400},
  };
  WorkerProcess worker(config, examples::HelloApp::make);
  for (const Case& bad : cases) {
    CAPTURE(bad.status);
    RawClient client(worker.port());
    client.send(bad.request);
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == bad.status);
    CHECK(response->header("Connection").value_or("") == "close");
    CHECK(client.closed_within(3s));
    RawClient next(worker.port());
    next.send(get_root);
    check_hello(next.read_response());
  }
}

TEST_CASE("a bad request after good pipelined ones: the good ones are answered first") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(std::string(get_root) + "BAD\x01 / HTTP/1.1\r\nHost: h\r\n\r\n" + get_root);
  check_hello(client.read_response());
  auto rejected = client.read_response();
  REQUIRE(rejected);
  CHECK(rejected->status == 400);
  CHECK(client.closed_within(3s));
}

TEST_CASE("HEAD gets Content-Length and no body") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(std::string("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n") + get_root);
  auto head = client.read_response(true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length").value_or("") == "13");
  CHECK(head->body.empty());
  // Had the HEAD answer carried a body, this would not parse as the next response.
  check_hello(client.read_response());
}

TEST_CASE("HTTP/1.0 closes unless keep-alive was asked for") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  {
    RawClient client(worker.port());
    client.send("GET / HTTP/1.0\r\n\r\n");
    auto response = client.read_response();
    check_hello(response);
    CHECK(response->header("Connection").value_or("") == "close");
    CHECK(client.closed_within(3s));
  }
  RawClient client(worker.port());
  for (int i = 0; i < 2; ++i) {
    client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto response = client.read_response();
    check_hello(response);
    CHECK(response->header("Connection").value_or("") == "keep-alive");
  }
}

TEST_CASE("Connection: close is honoured") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  auto response = client.read_response();
  check_hello(response);
  CHECK(response->header("Connection").value_or("") == "close");
  CHECK(client.closed_within(3s));
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(
      "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  auto interim = client.read_response();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  client.send("hello");
  auto echo = client.read_response();
  REQUIRE(echo);
  CHECK(echo->status == 200);
  CHECK(echo->body == "hello");
}

TEST_CASE("a body too large for 100-continue is refused without waiting for it") {
  config::Config config = test_config();
  config.limits.max_body_size = 10;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(
      "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 413);
}

TEST_CASE("a slow client that never finishes its head is closed by the header timeout") {
  config::Config config = test_config();
  config.limits.header_timeout = 0.3;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send("GET / HTTP/1.1\r\nHost:");
  auto started = std::chrono::steady_clock::now();
  // Trickling bytes does not extend the deadline.
  client.send(" a");
  CHECK(client.closed_within(3s));
  CHECK(std::chrono::steady_clock::now() - started >= 250ms);
  RawClient next(worker.port());
  next.send(get_root);
  check_hello(next.read_response());
}

TEST_CASE("an idle keep-alive connection is closed after keepalive seconds") {
  config::Config config = test_config();
  config.keepalive = 0.3;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(get_root);
  check_hello(client.read_response());
  CHECK(client.silent_for(150ms));
  CHECK(client.closed_within(3s));
}

TEST_CASE("keepalive = 0 closes after every response") {
  config::Config config = test_config();
  config.keepalive = 0;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(get_root);
  auto response = client.read_response();
  check_hello(response);
  CHECK(response->header("Connection").value_or("") == "close");
  CHECK(client.closed_within(3s));
}

TEST_CASE("SIGTERM lets an in-flight slow request finish, then the worker exits 0") {
  config::Config config = test_config();
  config.keepalive = 1;
  SUBCASE("uv: the handler blocks the loop; the connection closes once answered") {
    WorkerProcess worker(config, examples::HelloApp::make);
    RawClient client(worker.port());
    client.send("GET /sleep?ms=500 HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(worker.wait_requests(1));
    kill(worker.pid(), SIGTERM);
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "slept\n");
    CHECK(client.closed_within(3s));
    CHECK(worker.wait_exit(5s) == 0);
  }
  SUBCASE("threads: the answer given while draining says Connection: close") {
    config.worker_class = "threads";
    config.threads = 2;
    WorkerProcess worker(config, examples::HelloApp::make);
    RawClient client(worker.port());
    client.send("GET /sleep?ms=500 HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(worker.wait_requests(1));
    kill(worker.pid(), SIGTERM);
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "slept\n");
    CHECK(response->header("Connection").value_or("") == "close");
    CHECK(client.closed_within(3s));
    CHECK(worker.wait_exit(5s) == 0);
  }
}

TEST_CASE("SIGQUIT exits at once, without waiting for a slow request") {
  WorkerProcess worker(test_config(), examples::HelloApp::make);
  RawClient client(worker.port());
  client.send("GET /sleep?ms=3000 HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(worker.wait_requests(1));
  auto started = std::chrono::steady_clock::now();
  kill(worker.pid(), SIGQUIT);
  CHECK(worker.wait_exit(2s) == 0);
  CHECK(std::chrono::steady_clock::now() - started < 1500ms);
  CHECK_FALSE(client.read_response(false, 500ms));
}

TEST_CASE("max_requests recycles the worker after that many requests") {
  config::Config config = test_config();
  config.max_requests = 2;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send(get_root);
  auto first = client.read_response();
  check_hello(first);
  CHECK_FALSE(first->header("Connection"));
  client.send(get_root);
  auto last = client.read_response();
  check_hello(last);
  CHECK(last->header("Connection").value_or("") == "close");
  CHECK(worker.wait_exit(5s) == 0);
}

TEST_CASE("worker_connections: a client above the cap waits until a slot frees") {
  config::Config config = test_config();
  config.worker_connections = 1;
  WorkerProcess worker(config, examples::HelloApp::make);
  auto first = std::make_unique<RawClient>(worker.port());
  first->send(get_root);
  check_hello(first->read_response());
  RawClient second(worker.port());
  second.send(get_root);
  CHECK(second.silent_for(300ms));
  first.reset();
  check_hello(second.read_response());
}

TEST_CASE("threads worker class: handlers run in parallel, answers stay in order") {
  config::Config config = test_config();
  config.worker_class = "threads";
  config.threads = 4;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient pipelined(worker.port());
  pipelined.send(std::string("GET /sleep?ms=200 HTTP/1.1\r\nHost: h\r\n\r\n") + get_root);
  auto slow = pipelined.read_response();
  REQUIRE(slow);
  CHECK(slow->body == "slept\n");
  check_hello(pipelined.read_response());

  RawClient a(worker.port()), b(worker.port()), c(worker.port());
  auto started = std::chrono::steady_clock::now();
  for (RawClient* client : {&a, &b, &c})
    client->send("GET /sleep?ms=400 HTTP/1.1\r\nHost: h\r\n\r\n");
  for (RawClient* client : {&a, &b, &c}) {
    auto response = client->read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  // One after another they would take 1.2 s.
  CHECK(std::chrono::steady_clock::now() - started < 1000ms);
}

TEST_CASE("an app that cannot be created makes the worker exit with the boot error code") {
  WorkerProcess worker(test_config(), no_app);
  CHECK(worker.wait_exit(5s) == 3);
}
