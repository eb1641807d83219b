// Startup and exit: config errors, app loading, .so apps, pidfile, titles, unix sockets.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include <prefork/version.hpp>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

bool file_exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

}  // namespace

TEST_CASE("a config file error exits 2 naming the file and line") {
  TempDir dir;
  std::string path = dir.write("bad.toml", "bind = [\"127.0.0.1:0\"]\n\nworkers = \"many\"\n");
  Server server(prefork_binary(), {"-c", path});
  CHECK(server.wait_exit() == 2);
  CHECK(server.wait_for_line(path + ":3", 2s).has_value());
}

TEST_CASE("an app that does not exist exits 3 with the reason") {
  Server server(prefork_binary(), {"-b", "127.0.0.1:0", "--app", "/nonexistent/libnope.so:nope"});
  CHECK(server.wait_exit() == 3);
  CHECK(server.wait_for_line("file not found: /nonexistent/libnope.so", 2s).has_value());
  CHECK(server.count_lines("Listening at") == 0);
}

TEST_CASE("a library without the named app exits 3 naming the symbol") {
  Server server(prefork_binary(),
                {"-b", "127.0.0.1:0", "--app", built_path("HELLO_MODULE") + ":missing"});
  CHECK(server.wait_exit() == 3);
  CHECK(server.wait_for_line("symbol prefork_app_missing not found", 2s).has_value());
}

TEST_CASE("an app built for another ABI version is refused with both versions") {
  Server server(prefork_binary(),
                {"-b", "127.0.0.1:0", "--app", built_path("WRONG_ABI_MODULE") + ":wrong_abi"});
  CHECK(server.wait_exit() == 3);
  CHECK(server
            .wait_for_line("ABI version 999, but this prefork has ABI version " +
                               std::to_string(prefork::abi_version),
                           2s)
            .has_value());
}

TEST_CASE("no app anywhere is a usage error") {
  Server server(prefork_binary(), {"-b", "127.0.0.1:0"});
  CHECK(server.wait_exit() == 2);
  CHECK(server.wait_for_line("no application", 2s).has_value());
}

TEST_CASE("the hello app loaded from a .so serves requests") {
  Server server(prefork_binary(),
                {"-b", "127.0.0.1:0", "-w", "2", "--app", built_path("HELLO_MODULE") + ":hello"});
  int port = server.port();
  REQUIRE(port > 0);
  Reply reply = http_get(port, "/");
  CHECK(reply.status == 200);
  CHECK(reply.body == "Hello, World!");
  CHECK(http_get(port, "/no/such/page").status == 404);
  server.signal(SIGTERM);
  CHECK(server.wait_exit() == 0);
}

TEST_CASE("the statically linked hello binary serves requests") {
  Server server(built_path("HELLO_BINARY"), {"-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(http_get(port, "/").body == "Hello, World!");
  Reply echo = http_request(port, "POST", "/echo", "ping pong");
  CHECK(echo.status == 200);
  CHECK(echo.body == "ping pong");
}

TEST_CASE("the [app] table of the config file reaches the plugin's factory") {
  TempDir dir;
  std::string path = dir.write("plugin.toml",
                               "workers = 1\n\n[app]\n"
                               "greeting = \"Greetings from the e2e test\"\nname = \"e2e\"\n");
  Server server(prefork_binary(), {"-c", path, "-b", "127.0.0.1:0", "--app",
                                   built_path("GREETING_MODULE") + ":greeting"});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(http_get(port, "/").body == "Greetings from the e2e test\n");
  CHECK(http_get(port, "/name").body == "e2e\n");
}

TEST_CASE("a worker that fails to boot stops the master with exit code 3, without a fork loop") {
  TempDir dir;
  std::string path = dir.write("plugin.toml", "workers = 2\n");
  Server server(prefork_binary(), {"-c", path, "-b", "127.0.0.1:0", "--app",
                                   built_path("GREETING_MODULE") + ":greeting"});
  CHECK(server.wait_exit(20s) == 3);
  CHECK(server.wait_for_line("[app] greeting is required", 2s).has_value());
  CHECK(server.wait_for_line("failed to boot", 2s).has_value());
  CHECK(server.count_lines("Booting worker with pid") <= 2);
}

TEST_CASE("preload_app creates the app in the master: a factory error exits 3 before binding") {
  TempDir dir;
  std::string path = dir.write("plugin.toml", "preload_app = true\n");
  Server server(prefork_binary(), {"-c", path, "-b", "127.0.0.1:0", "--app",
                                   built_path("GREETING_MODULE") + ":greeting"});
  CHECK(server.wait_exit() == 3);
  CHECK(server.wait_for_line("preload_app: the app factory failed", 2s).has_value());
  CHECK(server.count_lines("Booting worker") == 0);
}

TEST_CASE("the pidfile holds the master's pid while it runs and is removed on exit") {
  TempDir dir;
  std::string pidfile = dir.file("prefork.pid");
  Server server(built_path("HELLO_BINARY"), {"-b", "127.0.0.1:0", "-w", "1", "--pid", pidfile});
  REQUIRE(server.port() > 0);
  std::ifstream file(pidfile);
  pid_t written = 0;
  file >> written;
  CHECK(written == server.pid());
  server.signal(SIGTERM);
  CHECK(server.wait_exit() == 0);
  CHECK_FALSE(file_exists(pidfile));
}

TEST_CASE("process titles name the master and the workers") {
  Server server(built_path("HELLO_BINARY"), {"-b", "127.0.0.1:0", "-w", "2"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_worker_count(2));
  CHECK(eventually(
      [&] { return process_cmdline(server.pid()).rfind("prefork: master [prefork]", 0) == 0; }));
  for (pid_t worker : server.workers()) {
    CHECK(eventually(
        [&] { return process_cmdline(worker).rfind("prefork: worker [prefork]", 0) == 0; }));
  }
}

TEST_CASE("proc_name names the titles") {
  Server server(prefork_binary(), {"-b", "127.0.0.1:0", "-w", "1", "-n", "hello", "--app",
                                   built_path("HELLO_MODULE") + ":hello"});
  REQUIRE(server.port() > 0);
  CHECK(eventually(
      [&] { return process_cmdline(server.pid()).rfind("prefork: master [hello]", 0) == 0; }));
}

TEST_CASE("a unix socket listener serves and its file is removed on exit") {
  TempDir dir;
  std::string socket_path = dir.file("prefork.sock");
  Server server(built_path("HELLO_BINARY"), {"-b", "unix:" + socket_path, "-w", "1"});
  REQUIRE(server.wait_for_line("Listening at: unix:" + socket_path).has_value());
  CHECK(http_get_unix(socket_path, "/").body == "Hello, World!");
  server.signal(SIGTERM);
  CHECK(server.wait_exit() == 0);
  CHECK_FALSE(file_exists(socket_path));
}

TEST_CASE("--check-config validates and exits without serving") {
  Server server(prefork_binary(), {"--check-config", "-b", "127.0.0.1:0", "--app",
                                   built_path("HELLO_MODULE") + ":hello"});
  CHECK(server.wait_exit() == 0);
  CHECK(server.wait_for_line("configuration OK", 2s).has_value());
  CHECK(server.count_lines("Listening at") == 0);
}

TEST_CASE("--check-config with inline tables 5000 deep exits 2 naming the file and line") {
  TempDir dir;
  std::string deep = "x = ";
  for (int i = 0; i < 5000; ++i) deep += "{a = ";
  deep += '1';
  for (int i = 0; i < 5000; ++i) deep += '}';
  std::string path = dir.write("deep.toml", "workers = 1\n[app]\n" + deep + "\n");
  Server server(prefork_binary(), {"--check-config", "-c", path, "-b", "127.0.0.1:0"});
  CHECK(server.wait_exit() == 2);
  CHECK(server.wait_for_line(path + ":3: values nest deeper than 64 levels", 2s).has_value());
}
