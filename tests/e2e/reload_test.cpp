// SIGHUP: re-read the config, replace every worker, drop no request.
#include <doctest/doctest.h>

#include <csignal>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// The master runs on a file of workers = 2; HUP after bad_file replaced it must log
// PATH + error_suffix, keep the master, its workers and their configuration, and serve on.
void check_bad_reload_keeps_running(const std::string& bad_file, const std::string& error_suffix) {
  TempDir dir;
  std::string path = dir.write("prefork.toml", "workers = 2\n");
  Server server(hello_binary(), {"-c", path, "-b", "127.0.0.1:0"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> before = server.workers();
  dir.write("prefork.toml", bad_file);
  server.signal(SIGHUP);
  REQUIRE(server.wait_for_line("Reload failed, keeping the running configuration").has_value());
  CHECK(server.wait_for_line(path + error_suffix, 1s).has_value());
  CHECK(process_alive(server.pid()));
  std::vector<pid_t> after = server.workers();
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  CHECK(before == after);
  CHECK(http_get(port, "/").status == 200);
}

}  // namespace

TEST_CASE("HUP under load replaces every worker with zero failed requests") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--graceful-timeout", "10"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> old_workers = server.workers();
  Load load(port, 2);
  REQUIRE(eventually([&] { return load.answered() >= 50; }));
  auto started = Clock::now();
  server.signal(SIGHUP);
  bool replaced = eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 2 && all_replaced(now, old_workers);
  });
  long served_at_replacement = load.answered();
  // Keep the load on the new workers until about 1.5 s have passed in all.
  eventually([&] { return Clock::now() - started >= 1500ms; }, 3s);
  load.stop();
  CHECK(replaced);
  CHECK(load.failed() == 0);
  CHECK(load.answered() > served_at_replacement);
  CHECK(server.count_lines("Hang up: Master") == 1);
}

TEST_CASE("HUP with a broken config file keeps the running workers and configuration") {
  check_bad_reload_keeps_running("workers = 2\nno_such_setting = 1\n", ":2");
}

TEST_CASE("HUP applies a changed worker count from the config file") {
  TempDir dir;
  std::string path = dir.write("prefork.toml", "workers = 1\n");
  Server server(hello_binary(), {"-c", path, "-b", "127.0.0.1:0"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(1));
  dir.write("prefork.toml", "workers = 3\n");
  server.signal(SIGHUP);
  CHECK(server.wait_for_worker_count(3));
}

TEST_CASE("HUP with values nested thousands deep keeps the master alive and serving") {
  std::string deep =
      "workers = 2\n[app]\nx = " + std::string(8000, '[') + "1" + std::string(8000, ']') + "\n";
  check_bad_reload_keeps_running(deep, ":3: values nest deeper than 64 levels");
}

TEST_CASE("HUP does not wait for an idle keep-alive connection to the old worker") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--keep-alive", "300",
                                 "--graceful-timeout", "30"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  pid_t old_worker = server.workers().front();
  Client idle(port);
  REQUIRE(idle.get("/").status == 200);
  server.signal(SIGHUP);
  CHECK(idle.closed_by_server());
  CHECK(eventually([&] { return !process_alive(old_worker); }, 3s));
  CHECK(server.count_lines("did not stop in time") == 0);
}
