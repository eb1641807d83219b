// Master hooks (include/prefork/hooks.hpp), through examples/hooks: each hook writes a line
// "[hooks] NAME details", so the log shows which hooks ran, where and in which order.
#include <doctest/doctest.h>

#include <csignal>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

std::string hooks_binary() {
  return built_path("HOOKS_BINARY");
}

std::vector<std::string> lines_with(const std::string& log, std::string_view text) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(text) != std::string::npos) found.push_back(line);
  }
  return found;
}

// Where text first appears in log; npos (after everything) when it does not.
std::size_t first(const std::string& log, std::string_view text) {
  return log.find(text);
}

std::set<pid_t> post_fork_pids(const std::string& log) {
  std::set<pid_t> pids;
  for (const std::string& line : lines_with(log, "[hooks] post_fork ")) {
    pids.insert(pid_t(std::stol(line.substr(line.find("pid=") + 4))));
  }
  return pids;
}

std::string child_exit_line(pid_t pid) {
  return "[hooks] child_exit pid=" + std::to_string(pid) + " ";
}

}  // namespace

TEST_CASE("on_starting, then when_ready once bound, then pre_fork per worker; post_fork in each") {
  Server server(hooks_binary(), {"-b", "127.0.0.1:0", "-w", "3"});
  int port = server.serving_port(3);
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_lines("[hooks] post_fork ", 3));
  std::string log = server.log();
  std::string master = "master=" + std::to_string(server.pid());
  CHECK(log.find("[hooks] on_starting " + master) != std::string::npos);
  CHECK(log.find("[hooks] when_ready " + master) != std::string::npos);
  CHECK(first(log, "[hooks] on_starting") < first(log, "Listening at"));
  CHECK(first(log, "Listening at") < first(log, "[hooks] when_ready"));
  CHECK(first(log, "[hooks] when_ready") < first(log, "[hooks] pre_fork worker=1"));
  CHECK(lines_with(log, "[hooks] pre_fork ").size() == 3);
  for (int id = 1; id <= 3; ++id) {
    INFO("worker ", id);
    std::string worker = "worker=" + std::to_string(id);
    CHECK(first(log, "[hooks] pre_fork " + worker) < first(log, "[hooks] post_fork " + worker));
  }
  std::vector<pid_t> workers = server.workers();
  CHECK(post_fork_pids(log) == std::set<pid_t>(workers.begin(), workers.end()));
  CHECK(http_get(port, "/").status == 200);
}

TEST_CASE("HUP runs on_reload; a worker killed with SIGKILL is reported by child_exit") {
  Server server(hooks_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> before_hup = server.workers();
  server.signal(SIGHUP);
  CHECK(server.wait_for_line("[hooks] on_reload workers=2").has_value());
  // The retired generation exits cleanly, each one reported.
  for (pid_t pid : before_hup) {
    CHECK(server.wait_for_line(child_exit_line(pid) + "code=0").has_value());
  }
  REQUIRE(server.wait_for_worker_count(2));
  pid_t victim = server.workers().front();
  kill(victim, SIGKILL);
  CHECK(server.wait_for_line(child_exit_line(victim) + "signal=9").has_value());
  CHECK(server.wait_for_worker_count(2));
}

TEST_CASE("a worker that misses its heartbeat: worker_abort in the master, then child_exit") {
  Server server(hooks_binary(), {"-b", "127.0.0.1:0", "-w", "1", "-t", "2"});
  int port = server.serving_port(1);
  REQUIRE(port > 0);
  pid_t stalled = server.workers().front();
  CHECK_FALSE(http_get(port, "/stall", 15s).ok);
  std::string abort_line = "[hooks] worker_abort pid=" + std::to_string(stalled);
  REQUIRE(server.wait_for_line(abort_line).has_value());
  REQUIRE(server.wait_for_line(child_exit_line(stalled)).has_value());
  std::string log = server.log();
  CHECK(first(log, "WORKER TIMEOUT (pid:" + std::to_string(stalled) + ")") <
        first(log, abort_line));
  CHECK(first(log, abort_line) < first(log, child_exit_line(stalled)));
  CHECK(eventually([&] { return http_get(port, "/", 2s).status == 200; }, 5s));
}

TEST_CASE("TERM runs on_exit after the last worker is gone") {
  Server server(hooks_binary(), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> workers = server.workers();
  server.signal(SIGTERM);
  REQUIRE(server.wait_exit() == 0);
  // The exit can be seen before the last lines are read from the pipe.
  std::string on_exit_line = "[hooks] on_exit master=" + std::to_string(server.pid());
  REQUIRE(server.wait_for_line(on_exit_line).has_value());
  std::string log = server.log();
  std::size_t on_exit = first(log, on_exit_line);
  for (pid_t pid : workers) {
    INFO("worker ", pid);
    CHECK(first(log, child_exit_line(pid)) < on_exit);
  }
  CHECK(lines_with(log, "[hooks] on_exit").size() == 1);
}

TEST_CASE("a pre_fork hook that throws is logged, and the master forks and serves on") {
  TempDir dir;
  std::string config = dir.write("hooks.toml", "[app]\nthrow_in = \"pre_fork\"\n");
  Server server(hooks_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2"});
  int port = server.serving_port(2);
  REQUIRE(port > 0);
  std::string failed = "hook pre_fork failed: [app] throw_in asked this hook to throw";
  CHECK(server.wait_for_lines(failed, 2));
  CHECK(http_get(port, "/").status == 200);
  server.signal(SIGTTIN);
  CHECK(server.wait_for_lines(failed, 3));
  CHECK(server.wait_for_worker_count(3));
  CHECK(http_get(port, "/").status == 200);
  CHECK(server.count_lines("[hooks] pre_fork") == 0);
  server.signal(SIGTERM);
  CHECK(server.wait_exit() == 0);
}

TEST_CASE("a post_fork hook that throws is logged by the worker, which serves on") {
  TempDir dir;
  std::string config = dir.write("hooks.toml", "[app]\nthrow_in = \"post_fork\"\n");
  Server server(hooks_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"});
  int port = server.serving_port(1);
  REQUIRE(port > 0);
  pid_t worker = server.workers().front();
  std::optional<std::string> failed = server.wait_for_line("hook post_fork failed");
  REQUIRE(failed.has_value());
  // The error log's [pid] is the worker's: the hook ran after fork.
  CHECK(failed->find("[" + std::to_string(worker) + "]") != std::string::npos);
  CHECK(http_get(port, "/").status == 200);
  CHECK(server.workers() == std::vector<pid_t>{worker});
}

TEST_CASE("a .so app's hooks run with preload_app; without it the master warns") {
  std::string app = built_path("HOOKS_MODULE") + ":hooks";
  SUBCASE("preload_app") {
    Server server(prefork_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--app", app, "--preload"});
    int port = server.port();
    REQUIRE(port > 0);
    REQUIRE(server.wait_for_worker_count(1));
    CHECK(server
              .wait_for_line("[hooks] post_fork worker=1 pid=" +
                             std::to_string(server.workers().front()))
              .has_value());
    std::string log = server.log();
    CHECK(first(log, "[hooks] on_starting") < first(log, "[hooks] when_ready"));
    CHECK(http_get(port, "/").status == 200);
  }
  SUBCASE("no preload_app") {
    Server server(prefork_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--app", app});
    int port = server.port();
    REQUIRE(port > 0);
    CHECK(server.wait_for_line("hooks of app hooks run only with preload_app").has_value());
    REQUIRE(server.wait_for_worker_count(1));
    CHECK(http_get(port, "/").status == 200);
    CHECK(server.count_lines("[hooks]") == 0);
  }
}
