// The master keeps its workers: respawn, TTIN/TTOU, heartbeat timeouts, signal isolation.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

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

TEST_CASE("max_requests holds with concurrent clients: a worker accepts no more than it serves") {
  constexpr int max_requests = 1;
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--max-requests",
                                 std::to_string(max_requests), "--max-requests-jitter", "0"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::mutex mutex;
  std::map<std::string, int> per_worker;
  int failed = 0;
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      for (int n = 0; n < 5; ++n) {
        Reply reply = http_get(port, "/pid");
        std::lock_guard lock(mutex);
        if (reply.ok && reply.status == 200) {
          ++per_worker[reply.body];
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  CHECK(failed == 0);
  CHECK(per_worker.size() >= 2);
  for (const auto& [pid, served] : per_worker) {
    INFO("worker ", pid);
    CHECK(served <= max_requests);
  }
}

TEST_CASE("a worker out of descriptors logs it once and serves the waiting clients later") {
  // The worker inherits the limit; the clients over it must wait in the queue, not be reset.
  Server server("/bin/sh", {"-c", "ulimit -n 64 && exec \"$0\" \"$@\"", hello_binary(), "-b",
                            "127.0.0.1:0", "-w", "1", "--keep-alive", "300"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  std::vector<std::unique_ptr<Client>> held;
  std::unique_ptr<Client> queued;
  while (!queued && held.size() < 64) {
    auto client = std::make_unique<Client>(port, 2s);
    REQUIRE(client->send_get("/"));
    Reply reply = client->read_reply();
    if (reply.ok) {
      held.push_back(std::move(client));
    } else {
      queued = std::move(client);
    }
  }
  REQUIRE(queued);
  Client also_queued(port);
  REQUIRE(also_queued.send_get("/"));
  REQUIRE(server.wait_for_line("cannot accept: Too many open files").has_value());
  // Several retry periods pass without another line.
  std::this_thread::sleep_for(400ms);
  CHECK(server.count_lines("cannot accept") == 1);
  held.clear();
  CHECK(queued->read_reply().status == 200);
  CHECK(also_queued.read_reply().status == 200);
}
