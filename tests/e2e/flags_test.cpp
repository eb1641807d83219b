// gunicorn's operational flags: --print-config, -e/--env (raw_env) and -D/--daemon.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// hello's /env, which tells the worker's environment, is off unless the config turns it on.
const std::string expose_env = "[app]\nexpose_env = true\n";

std::string hello_app() {
  return built_path("HELLO_MODULE") + ":hello";
}

// The pid at the end of a log line ("… (1234)", "… master pid 1234").
pid_t pid_at_end(const std::string& line) {
  std::size_t digits = line.find_last_of("( ") + 1;
  return pid_t(std::atol(line.c_str() + digits));
}

// A process the test did not fork (the daemon is its grandchild), killed with its children when
// the test ends, whatever the outcome.
class Stray {
 public:
  Stray() = default;
  ~Stray() {
    if (pid_ <= 0 || !process_alive(pid_)) return;
    std::vector<pid_t> children = children_of(pid_);
    kill(pid_, SIGKILL);
    for (pid_t child : children) kill(child, SIGKILL);
  }
  Stray(const Stray&) = delete;
  Stray& operator=(const Stray&) = delete;

  void adopt(pid_t pid) { pid_ = pid; }

 private:
  pid_t pid_ = 0;
};

// The value of the answering worker's environment variable; "unset" when it has none.
std::string worker_env(int port, const std::string& name) {
  Reply reply = http_get(port, "/env?name=" + name);
  return reply.status == 200 ? reply.body : reply.status == 404 ? "unset" : "no answer";
}

}  // namespace

TEST_CASE("--print-config prints TOML that loads back to the same configuration, and exits 0") {
  TempDir dir;
  std::string path = dir.write("app.toml",
                               "workers = 3\n[redis]\npassword = \"hunter2\"\n"
                               "[app]\ngreeting = \"hi\"\n");
  Server first(prefork_binary(),
               {"--print-config", "-c", path, "-e", "FOO=bar", "-m", "022", "--app", hello_app()});
  CHECK(first.wait_exit() == 0);
  REQUIRE(first.wait_for_line("greeting = \"hi\"", 2s).has_value());
  std::string text = first.log();
  CHECK(text.find("\nworkers = 3\n") != std::string::npos);
  CHECK(text.find("\nraw_env = [\"FOO=bar\"]\n") != std::string::npos);
  CHECK(text.find("\numask = 0o022\n") != std::string::npos);
  CHECK(text.find("\nredis.password = \"***\"\n") != std::string::npos);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(first.count_lines("Listening at") == 0);

  std::string printed = dir.write("printed.toml", text);
  // TOML cannot hold both app = "…" and [app]: the app is a comment, given again with --app.
  CHECK(text.find("\n# app = \"" + hello_app() + "\" (give it with --app") != std::string::npos);
  Server second(prefork_binary(), {"--print-config", "-c", printed, "--app", hello_app()});
  CHECK(second.wait_exit() == 0);
  REQUIRE(second.wait_for_line("greeting = \"hi\"", 2s).has_value());
  CHECK(second.log() == text);
  Server check(prefork_binary(), {"--check-config", "-c", printed, "--app", hello_app()});
  CHECK(check.wait_exit() == 0);
  CHECK(check.wait_for_line("configuration OK", 2s).has_value());
}

TEST_CASE("-e KEY=VALUE is in the workers' environment, where the app reads it") {
  TempDir dir;
  Server server(prefork_binary(),
                {"-c", dir.write("env.toml", expose_env), "-b", "127.0.0.1:0", "-w", "2", "-e",
                 "PREFORK_TEST_FOO=bar", "--env", "PREFORK_TEST_EQ=a=b", "-e",
                 "PREFORK_TEST_KEPT=new", "--app", hello_app()},
                {"PREFORK_TEST_KEPT=old"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  for (int i = 0; i < 4; ++i) {
    CHECK(worker_env(port, "PREFORK_TEST_FOO") == "bar");
    CHECK(worker_env(port, "PREFORK_TEST_EQ") == "a=b");
    CHECK(worker_env(port, "PREFORK_TEST_KEPT") == "new");
    CHECK(worker_env(port, "PREFORK_TEST_NONE") == "unset");
  }
}

TEST_CASE("HUP puts back what the old raw_env replaced, then sets the new list") {
  TempDir dir;
  std::string path = dir.write("env.toml",
                               "workers = 1\n"
                               "raw_env = [\"PREFORK_TEST_A=one\", "
                               "\"PREFORK_TEST_KEPT=replaced\"]\n" +
                                   expose_env);
  Server server(prefork_binary(), {"-c", path, "-b", "127.0.0.1:0", "--app", hello_app()},
                {"PREFORK_TEST_KEPT=original"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  CHECK(worker_env(port, "PREFORK_TEST_A") == "one");
  CHECK(worker_env(port, "PREFORK_TEST_KEPT") == "replaced");

  std::vector<pid_t> old = server.workers();
  dir.write("env.toml", "workers = 1\nraw_env = [\"PREFORK_TEST_B=two\"]\n" + expose_env);
  server.signal(SIGHUP);
  REQUIRE(eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 1 && all_replaced(now, old);
  }));
  CHECK(worker_env(port, "PREFORK_TEST_A") == "unset");
  CHECK(worker_env(port, "PREFORK_TEST_KEPT") == "original");
  CHECK(worker_env(port, "PREFORK_TEST_B") == "two");

  // A reload that fails after its raw_env was set (the certificate is missing) leaves the running
  // list:
  // a worker forked afterwards has B, not C.
  dir.write(
      "env.toml",
      "workers = 1\ncertfile = \"/nonexistent/cert.pem\"\nkeyfile = \"/nonexistent/key.pem\"\n"
      "raw_env = [\"PREFORK_TEST_C=three\"]\n" +
          expose_env);
  server.signal(SIGHUP);
  REQUIRE(server.wait_for_line("Reload failed").has_value());
  std::vector<pid_t> before = server.workers();
  server.signal(SIGTTIN);
  REQUIRE(server.wait_for_worker_count(2));
  server.signal(SIGTTOU);  // retires the oldest: the one forked before the failed reload
  REQUIRE(eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 1 && all_replaced(now, before);
  }));
  CHECK(worker_env(port, "PREFORK_TEST_C") == "unset");
  CHECK(worker_env(port, "PREFORK_TEST_B") == "two");
  CHECK(worker_env(port, "PREFORK_TEST_KEPT") == "original");
}

TEST_CASE("-D detaches: the first process exits 0, the daemon serves, TERM ends it") {
  TempDir dir;
  std::string pidfile = dir.file("prefork.pid");
  Stray daemon;
  Server launcher(prefork_binary(),
                  {"-D", "-p", pidfile, "-b", "127.0.0.1:0", "-w", "1", "--app", hello_app()});
  std::optional<std::string> detached = launcher.wait_for_line("Detached from the terminal");
  if (detached) daemon.adopt(pid_at_end(*detached));
  REQUIRE(detached.has_value());
  pid_t pid = pid_at_end(*detached);
  CHECK(launcher.wait_exit() == 0);
  REQUIRE(path_exists(pidfile));
  CHECK(read_pidfile(pidfile) == pid);
  CHECK(pid != launcher.pid());
  // A session of its own, which it does not lead: it can never get a controlling terminal.
  CHECK(getsid(pid) != getsid(0));
  CHECK(getsid(pid) != pid);
  std::optional<ProcessStat> stat = process_stat(pid);
  REQUIRE(stat.has_value());
  CHECK(stat->terminal == 0);
  CHECK(launcher.wait_for_line("--daemon with errorlog \"-\"", 1s).has_value());

  int port = launcher.port();
  REQUIRE(port > 0);
  CHECK(http_get(port, "/").body == "Hello, World!");
  REQUIRE(eventually([&] { return children_of(pid).size() == 1; }));

  kill(pid, SIGTERM);
  CHECK(eventually([&] { return !path_exists(pidfile); }));
  CHECK(eventually([&] { return !process_alive(pid); }));
}

TEST_CASE("-D: a bind error in the daemon reaches the terminal, and the first process exits 1") {
  int taken = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(taken >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(taken, 1) == 0);
  socklen_t length = sizeof address;
  getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);

  Stray daemon;
  Server launcher(prefork_binary(),
                  {"-D", "-b", "127.0.0.1:" + std::to_string(port), "--app", hello_app()});
  std::optional<std::string> detached = launcher.wait_for_line("Detached from the terminal");
  if (detached) daemon.adopt(pid_at_end(*detached));
  CHECK(launcher.wait_exit() == 1);
  CHECK(launcher.wait_for_line("in use", 2s).has_value());
  REQUIRE(detached.has_value());
  CHECK(eventually([&] { return !process_alive(pid_at_end(*detached)); }));
  close(taken);
}

TEST_CASE("-D detaches before on_starting: the hook's master.pid() is the daemon's") {
  TempDir dir;
  std::string pidfile = dir.file("prefork.pid");
  Stray daemon;
  Server launcher(built_path("HOOKS_BINARY"),
                  {"-D", "-p", pidfile, "-b", "127.0.0.1:0", "-w", "1"});
  std::optional<std::string> detached = launcher.wait_for_line("Detached from the terminal");
  if (detached) daemon.adopt(pid_at_end(*detached));
  REQUIRE(detached.has_value());
  pid_t pid = pid_at_end(*detached);
  CHECK(launcher.wait_exit() == 0);
  CHECK(launcher.count_lines("[hooks] on_starting master=" + std::to_string(pid)) == 1);
  kill(pid, SIGTERM);
  CHECK(eventually([&] { return !process_alive(pid); }));
}

TEST_CASE("-D: an error after detaching (the pidfile) reaches the terminal, and exits 1") {
  TempDir dir;
  Stray daemon;
  Server launcher(prefork_binary(), {"-D", "-p", dir.file("missing/prefork.pid"), "-b",
                                     "127.0.0.1:0", "-w", "1", "--app", hello_app()});
  std::optional<std::string> detached = launcher.wait_for_line("Detached from the terminal");
  if (detached) daemon.adopt(pid_at_end(*detached));
  CHECK(launcher.wait_exit() == 1);
  CHECK(launcher.wait_for_line("missing/prefork.pid", 2s).has_value());
  REQUIRE(detached.has_value());
  CHECK(eventually([&] { return !process_alive(pid_at_end(*detached)); }));
  CHECK(launcher.count_lines("Listening at") == 0);
}
