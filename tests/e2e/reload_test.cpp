// SIGHUP: re-read the config, replace every worker, drop no request.
#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// The master runs on a file of workers = 2; HUP after bad_file replaced it must log
// PATH + error_suffix, keep the master, its workers and their configuration, and serve on.
void check_bad_reload_keeps_running(const std::string& bad_file, const std::string& error_suffix) {
  TempDir dir;
  std::string path = dir.write("prefork.toml", "workers = 2\n");
  Server server(hello_binary(), {"-c", path, "-b", "127.0.0.1:0"});
  int port = server.serving_port(2);
  REQUIRE(port > 0);
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

// The app's .so as a deploy puts it there: copied beside its final name, then renamed over it,
// so that running workers keep their mapping of the old file intact.
void deploy(const TempDir& dir, const char* module_variable) {
  INFO(module_variable);
  std::string staged = dir.file(".libapp.so.new");
  std::filesystem::copy_file(built_path(module_variable), staged,
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(std::rename(staged.c_str(), dir.file("libapp.so").c_str()) == 0);
}

std::string app_spec(const TempDir& dir) {
  return dir.file("libapp.so") + ":version";
}

// prefork serving dir/libapp.so with two workers; its metrics endpoint on a free port.
std::vector<std::string> version_args(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::string config = dir.write("prefork.toml", "[metrics]\nport = 0\n");
  std::vector<std::string> args = {"-c",          config, "--app", app_spec(dir),        "-b",
                                   "127.0.0.1:0", "-w",   "2",     "--graceful-timeout", "10"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Whether the master has two workers and both have mapped library (loaded the app).
bool both_workers_map(const Server& server, const std::string& library) {
  std::vector<pid_t> workers = server.workers();
  return workers.size() == 2 && std::all_of(workers.begin(), workers.end(),
                                            [&](pid_t pid) { return maps_contain(pid, library); });
}

// A master serving the v1 module, deployed in its own directory, with both workers up: each has
// loaded the app, so a test may then delete or replace the .so (a worker that finds it missing
// while booting exits 3, and the master halts, as gunicorn's does).
struct ServingV1 {
  TempDir dir;
  std::optional<Server> server;
  int port = 0;

  ServingV1() {
    deploy(dir, "VERSION_V1_MODULE");
    server.emplace(prefork_binary(), version_args(dir));
    port = server->serving_port(2);
    REQUIRE(port > 0);
    REQUIRE(eventually([&] { return both_workers_map(*server, dir.file("libapp.so")); }));
  }
};

std::string body_of(int port) {
  return http_get(port, "/").body;
}

// Sends HUP and waits until every worker of before has been replaced by one of a new set.
bool hup_and_replace(Server& server, std::chrono::milliseconds timeout = 20s) {
  std::vector<pid_t> before = server.workers();
  server.signal(SIGHUP);
  return eventually(
      [&] {
        std::vector<pid_t> now = server.workers();
        return now.size() == 2 && all_replaced(now, before);
      },
      timeout);
}

std::vector<pid_t> sorted(std::vector<pid_t> pids) {
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace

TEST_CASE("HUP under load replaces every worker with zero failed requests") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--graceful-timeout", "10"});
  int port = server.serving_port(2);
  REQUIRE(port > 0);
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
  int port = server.serving_port(1);
  REQUIRE(port > 0);
  pid_t old_worker = server.workers().front();
  Client idle(port);
  REQUIRE(idle.get("/").status == 200);
  server.signal(SIGHUP);
  CHECK(idle.closed_by_server());
  CHECK(eventually([&] { return !process_alive(old_worker); }, 3s));
  CHECK(server.count_lines("did not stop in time") == 0);
}

TEST_CASE("without preload_app the master never maps the app's .so, before or after HUP") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  CHECK(body_of(port) == "v1\n");
  std::string library = dir.file("libapp.so");
  // The workers do map it (ServingV1 waited for that): the check below can see a mapping.
  CHECK(both_workers_map(server, library));
  CHECK_FALSE(maps_contain(server.pid(), library));
  REQUIRE(hup_and_replace(server));
  CHECK_FALSE(maps_contain(server.pid(), library));
}

TEST_CASE("with preload_app the master maps the app's .so") {
  TempDir dir;
  deploy(dir, "VERSION_V1_MODULE");
  Server server(prefork_binary(), version_args(dir, {"--preload"}));
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(body_of(port) == "v1\n");
  CHECK(maps_contain(server.pid(), dir.file("libapp.so")));
}

TEST_CASE("the .so is checked as the workers' user: one that user cannot read stops the start") {
  if (geteuid() != 0) {
    MESSAGE("not root: -u cannot switch users, nothing to check");
    return;
  }
  TempDir dir;  // mode 0700, root's
  deploy(dir, "VERSION_V1_MODULE");
  Server server(prefork_binary(), version_args(dir, {"-u", "nobody"}));
  CHECK(server.wait_exit() == 3);
  CHECK(server
            .wait_for_line("app \"" + app_spec(dir) + "\": cannot read " + dir.file("libapp.so") +
                           ": Permission denied")
            .has_value());
  CHECK(server.count_lines("Listening at") == 0);
}

TEST_CASE("a .so renamed over the app's, then HUP under load: the new code, no failed request") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  REQUIRE(body_of(port) == "v1\n");
  Load load(port, 4);
  REQUIRE(eventually([&] { return load.answered() >= 50; }));
  deploy(dir, "VERSION_V2_MODULE");
  CHECK(hup_and_replace(server));
  CHECK(body_of(port) == "v2\n");
  CHECK(load.answers_more(50));
  load.stop();
  CHECK(load.failed() == 0);
  CHECK(server.count_lines("Reload failed") == 0);
}

TEST_CASE("HUP with the .so deleted or broken keeps the workers; a good one is loaded next") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  std::vector<pid_t> before = sorted(server.workers());
  std::string failed = "Reload failed, keeping the running configuration: app \"" + app_spec(dir);

  REQUIRE(std::remove(dir.file("libapp.so").c_str()) == 0);
  server.signal(SIGHUP);
  CHECK(server.wait_for_line(failed + "\": file not found: " + dir.file("libapp.so")).has_value());
  CHECK(sorted(server.workers()) == before);
  CHECK(body_of(port) == "v1\n");

  dir.write(".libapp.so.new", "not a shared object\n");
  REQUIRE(std::rename(dir.file(".libapp.so.new").c_str(), dir.file("libapp.so").c_str()) == 0);
  server.signal(SIGHUP);
  CHECK(server.wait_for_line(failed + "\": cannot load: ").has_value());
  CHECK(sorted(server.workers()) == before);
  CHECK(body_of(port) == "v1\n");

  deploy(dir, "VERSION_V2_MODULE");
  CHECK(hup_and_replace(server));
  CHECK(body_of(port) == "v2\n");
  CHECK(process_alive(server.pid()));
}

TEST_CASE(
    "a HUP whose new .so hangs while loading: the master serves on, gives up on it at the "
    "time limit, then runs the HUP that came meanwhile") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  std::vector<pid_t> before = server.workers();
  deploy(dir, "SLOW_CONSTRUCTOR_MODULE");
  server.signal(SIGHUP);
  REQUIRE(eventually([&] {
    std::vector<pid_t> children = server.workers();
    return std::any_of(children.begin(), children.end(), [](pid_t pid) {
      return process_cmdline(pid).find("prefork: app probe") != std::string::npos;
    });
  }));
  // The master's loop is not waiting for the probe: its /health answers, and the workers serve.
  int metrics_port = server.port_of("Metrics listening at: http");
  REQUIRE(metrics_port > 0);
  CHECK(http_get(metrics_port, "/health", 2s).status == 200);
  CHECK(body_of(port) == "v1\n");
  deploy(dir, "VERSION_V2_MODULE");
  server.signal(SIGHUP);
  CHECK(server.wait_for_lines("Hang up: Master", 2));
  CHECK(server
            .wait_for_line("Reload failed, keeping the running configuration: app \"" +
                               app_spec(dir) + "\": loading it took longer than 10 s",
                           20s)
            .has_value());
  CHECK(eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 2 && all_replaced(now, before);
  }));
  CHECK(body_of(port) == "v2\n");
}

TEST_CASE("a signal the probe gets while the new .so loads is the probe's, not the master's") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  std::vector<pid_t> before = sorted(server.workers());
  deploy(dir, "RAISE_TERM_MODULE");
  server.signal(SIGHUP);
  CHECK(server
            .wait_for_line("Reload failed, keeping the running configuration: app \"" +
                           app_spec(dir) + "\": the process loading it died of SIGTERM")
            .has_value());
  CHECK(server.count_lines("Handling signal: term") == 0);
  CHECK(process_alive(server.pid()));
  CHECK(sorted(server.workers()) == before);
  CHECK(body_of(port) == "v1\n");
}

TEST_CASE("50 HUPs in a row under load: no failed request, no fd or memory growth in the master") {
  ServingV1 v1;
  TempDir& dir = v1.dir;
  Server& server = *v1.server;
  int port = v1.port;
  Load load(port, 4);
  REQUIRE(eventually([&] { return load.answered() >= 50; }));
  // A first reload makes what every later one reuses (the new config, the TLS contexts).
  REQUIRE(hup_and_replace(server));
  pid_t master = server.pid();
  std::size_t fds_before = open_fd_count(master);
  long rss_before = rss_kib(master);
  int reloads = 0;
  auto started = Clock::now();
  for (; reloads < 50; ++reloads) {
    deploy(dir, reloads % 2 == 0 ? "VERSION_V2_MODULE" : "VERSION_V1_MODULE");
    if (!hup_and_replace(server)) break;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  load.stop();
  CHECK(reloads == 50);
  CHECK(load.failed() == 0);
  CHECK(body_of(port) == "v1\n");
  // Folding a reaped worker's metrics holds a file open for a moment, at either count; a
  // descriptor kept per reload would leave 50 more.
  CHECK(eventually([&] { return open_fd_count(master) <= fds_before; }, 5s));
  std::size_t fds_after = open_fd_count(master);
  long rss_after = rss_kib(master);
  MESSAGE("50 HUPs with a new .so each, in ", seconds, " s: ", load.answered(),
          " requests answered, ", load.failed(), " failed; master fds ", fds_before, " -> ",
          fds_after, ", RSS ", rss_before, " KiB -> ", rss_after, " KiB (", rss_after - rss_before,
          " KiB)");
#ifndef __SANITIZE_ADDRESS__
  CHECK(rss_after - rss_before < 2048);
#endif
}

TEST_CASE("--reload: a .so renamed over the app's, or a changed extra file, reloads at once") {
  TempDir dir;
  deploy(dir, "VERSION_V1_MODULE");
  std::string extra = dir.write("extra.toml", "");
  Server server(prefork_binary(), version_args(dir, {"--reload", "--reload-extra-file", extra}));
  int port = server.serving_port(2);
  REQUIRE(port > 0);
  REQUIRE(body_of(port) == "v1\n");

  deploy(dir, "VERSION_V2_MODULE");
  CHECK(server.wait_for_line(dir.file("libapp.so") + " changed: reloading", 3s).has_value());
  CHECK(eventually([&] { return body_of(port) == "v2\n"; }, 5s));
  // The watch outlives the reload it caused.
  deploy(dir, "VERSION_V1_MODULE");
  CHECK(server.wait_for_lines(dir.file("libapp.so") + " changed: reloading", 2, 3s));
  CHECK(eventually([&] { return body_of(port) == "v1\n"; }, 5s));
  dir.write("extra.toml", "# touched\n");
  CHECK(server.wait_for_line(extra + " changed: reloading", 3s).has_value());
  CHECK(server.wait_for_lines("Hang up: Master", 3));
  CHECK(server.count_lines("Reload failed") == 0);
}
