// Stopping: TERM is graceful, QUIT is quick, WINCH stops the workers and keeps the master.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <future>
#include <memory>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// The worker is inside the /sleep handler: the request is in flight.
bool wait_until_handling(const Server& server) {
  return eventually([&] {
    for (pid_t worker : server.workers()) {
      if (sleeping_in_handler(worker)) return true;
    }
    return false;
  });
}

}  // namespace

TEST_CASE("TERM lets an in-flight request finish, then the master exits 0") {
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--graceful-timeout", "10", "-t", "30"});
  int port = server.port();
  REQUIRE(port > 0);
  auto slow = std::async(std::launch::async, [port] { return http_get(port, "/sleep?ms=1500"); });
  REQUIRE(wait_until_handling(server));
  server.signal(SIGTERM);
  Reply reply = slow.get();
  CHECK(reply.ok);
  CHECK(reply.status == 200);
  CHECK(server.wait_exit() == 0);
  CHECK(server.wait_for_line("Shutting down: Master", 2s).has_value());
}

TEST_CASE("QUIT does not wait for in-flight requests") {
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--graceful-timeout", "30", "-t", "60"});
  int port = server.port();
  REQUIRE(port > 0);
  auto slow = std::async(std::launch::async, [port] { return http_get(port, "/sleep?ms=20000"); });
  REQUIRE(wait_until_handling(server));
  auto signaled = Clock::now();
  server.signal(SIGQUIT);
  CHECK(server.wait_exit(10s) == 0);
  CHECK(Clock::now() - signaled < 5s);
  CHECK_FALSE(slow.get().ok);
}

TEST_CASE("INT is a quick shutdown too") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> workers = server.workers();
  server.signal(SIGINT);
  CHECK(server.wait_exit() == 0);
  for (pid_t worker : workers) CHECK(eventually([&] { return !process_alive(worker); }));
}

TEST_CASE("WINCH stops every worker and keeps the master; TTIN brings one back") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  server.signal(SIGWINCH);
  CHECK(server.wait_for_worker_count(0));
  CHECK(process_alive(server.pid()));
  server.signal(SIGTTIN);
  CHECK(server.wait_for_worker_count(1));
  CHECK(http_get(port, "/").status == 200);
}

TEST_CASE("a worker that ignores TERM is killed after graceful_timeout") {
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--graceful-timeout", "1", "-t", "60"});
  int port = server.port();
  REQUIRE(port > 0);
  auto slow = std::async(std::launch::async, [port] { return http_get(port, "/sleep?ms=20000"); });
  REQUIRE(wait_until_handling(server));
  auto signaled = Clock::now();
  server.signal(SIGTERM);
  CHECK(server.wait_exit(10s) == 0);
  CHECK(Clock::now() - signaled < 5s);
  CHECK(server.wait_for_line("did not stop in time", 2s).has_value());
  CHECK_FALSE(slow.get().ok);
}

TEST_CASE("TERM closes idle keep-alive connections at once instead of waiting for them") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--keep-alive", "300",
                                 "--graceful-timeout", "30", "-t", "60"});
  int port = server.port();
  REQUIRE(port > 0);
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<Client>(port));
    REQUIRE(idle.back()->get("/").status == 200);
  }
  auto signaled = Clock::now();
  server.signal(SIGTERM);
  CHECK(server.wait_exit(15s) == 0);
  CHECK(Clock::now() - signaled < 5s);
  CHECK(server.count_lines("did not stop in time") == 0);
  for (auto& client : idle) CHECK(client->closed_by_server());
}

TEST_CASE(
    "during a TERM drain an in-flight request is answered with Connection: close and a "
    "new connection is refused") {
  // The threads worker keeps its loop free while the handler sleeps, so that it handles TERM
  // at once and closes its listener while the request is still in flight.
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "-k", "threads", "--keep-alive",
                                 "300", "--graceful-timeout", "30", "-t", "60"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  pid_t worker = server.workers().front();
  Client client(port);
  REQUIRE(client.send_get("/sleep?ms=3000"));
  REQUIRE(eventually([&] { return thread_sleeping_in_handler(worker); }));
  server.signal(SIGTERM);
  REQUIRE(server.wait_for_line("shutting down: SIGTERM").has_value());
  CHECK(connect_error(port) == ECONNREFUSED);
  CHECK(process_alive(worker));
  Reply reply = client.read_reply();
  CHECK(reply.status == 200);
  CHECK(reply.head.find("Connection: close") != std::string::npos);
  CHECK(client.closed_by_server());
  CHECK(server.wait_exit() == 0);
}

TEST_CASE("keep-alive clients lose no request when HUP drains their workers") {
  // A client answered a moment ago is often sending its next request already: the draining
  // worker answers it (with Connection: close) instead of closing the connection under it.
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  Load load(port, 8, "/", true);
  for (int round = 0; round < 3; ++round) {
    std::vector<pid_t> old = server.workers();
    REQUIRE(load.answers_more(500));
    server.signal(SIGHUP);
    REQUIRE(eventually([&] {
      std::vector<pid_t> now = server.workers();
      return now.size() == 2 && all_replaced(now, old);
    }));
  }
  CHECK(load.answers_more(500));
  load.stop();
  MESSAGE("keep-alive requests across 3 HUPs: ", load.answered(), " answered, ", load.failed(),
          " failed");
  CHECK(load.failed() == 0);
}
