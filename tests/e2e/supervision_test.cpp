// The master keeps its workers: respawn, TTIN/TTOU, heartbeat timeouts, signal isolation.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

std::string hello_binary() {
  return built_path("HELLO_BINARY");
}

bool contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

}  // namespace

TEST_CASE("a worker killed with SIGKILL is replaced and a new pid serves within 2 s") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  REQUIRE(http_get(port, "/").status == 200);
  pid_t old_worker = server.workers().front();
  kill(old_worker, SIGKILL);
  auto killed_at = Clock::now();
  // With one worker, a served request proves that the replacement is up.
  REQUIRE(eventually([&] { return http_get(port, "/", 2s).status == 200; }, 2s));
  CHECK(Clock::now() - killed_at < 2s);
  std::vector<pid_t> now = server.workers();
  REQUIRE(now.size() == 1);
  CHECK(now.front() != old_worker);
  CHECK(server.wait_for_line("was sent SIGKILL", 2s).has_value());
}

TEST_CASE("TTIN adds a worker, TTOU removes one, never below one") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  server.signal(SIGTTIN);
  CHECK(server.wait_for_worker_count(3));
  server.signal(SIGTTOU);
  CHECK(server.wait_for_worker_count(2));
  server.signal(SIGTTOU);
  CHECK(server.wait_for_worker_count(1));
  // Refused at one worker; the TTIN after it proves the TTOU was handled first.
  server.signal(SIGTTOU);
  REQUIRE(server.wait_for_lines("Handling signal: ttou", 3));
  server.signal(SIGTTIN);
  REQUIRE(server.wait_for_lines("Handling signal: ttin", 2));
  CHECK(server.wait_for_worker_count(2));
}

TEST_CASE("a handler that blocks the loop past timeout is killed and replaced") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "-t", "2"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  pid_t blocked = server.workers().front();
  auto started = Clock::now();
  Reply reply = http_get(port, "/sleep?ms=8000", 15s);
  auto elapsed = Clock::now() - started;
  CHECK_FALSE(reply.ok);
  CHECK(elapsed >= 1900ms);
  CHECK(elapsed < 6s);
  CHECK(
      server.wait_for_line("WORKER TIMEOUT (pid:" + std::to_string(blocked) + ")", 2s).has_value());
  REQUIRE(eventually([&] { return http_get(port, "/", 2s).status == 200; }, 5s));
  std::vector<pid_t> now = server.workers();
  REQUIRE(now.size() == 1);
  CHECK(now.front() != blocked);
}

TEST_CASE("a signal sent to a worker does not reach the master's handlers, and the reverse") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> workers = server.workers();
  // WINCH handled by the master would stop every worker.
  kill(workers.front(), SIGWINCH);
  // TTIN handled by a worker would stop it (default action of SIGTTIN): the master handles it.
  server.signal(SIGTTIN);
  REQUIRE(server.wait_for_line("Handling signal: ttin").has_value());
  REQUIRE(server.wait_for_worker_count(3));
  CHECK(server.count_lines("Handling signal: winch") == 0);
  std::vector<pid_t> after = server.workers();
  for (pid_t worker : workers) {
    CHECK(contains(after, worker));
    CHECK(process_state(worker) != 'T');
  }
}

TEST_CASE("a worker recycled by max_requests does not wait for an idle keep-alive connection") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--max-requests", "2",
                                 "--keep-alive", "300", "--graceful-timeout", "30"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  pid_t old_worker = server.workers().front();
  Client idle(port);
  REQUIRE(idle.get("/").status == 200);
  REQUIRE(http_get(port, "/").status == 200);
  CHECK(idle.closed_by_server());
  CHECK(eventually([&] { return !process_alive(old_worker); }, 3s));
}
