// USR2, binary upgrade: the master starts its binary again on the same sockets; TERM (or WINCH
// then QUIT) to the old master completes the switch, and a new master that fails to start
// leaves the old one serving with its pidfile back. The binary is reached through a symlink in
// the test's directory, so that a test can swap it for something that fails.
//
// The test process is a subreaper: a new master whose old master exits becomes its child, to
// be reaped (and killed, if a test fails) like the masters it starts itself.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "metrics_support.hpp"
#include "support/certificates.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::Certificates;

namespace {

// The switch waits for two sets of workers to boot on a loaded machine.
constexpr auto upgrade_timeout = 30s;

// Replaces the symlink at link by one to target, atomically (as a deploy would).
void point_link_at(const std::string& link, const std::string& target) {
  std::string fresh = link + ".new";
  ::unlink(fresh.c_str());
  REQUIRE(::symlink(target.c_str(), fresh.c_str()) == 0);
  REQUIRE(::rename(fresh.c_str(), link.c_str()) == 0);
}

bool contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

// A master started through dir/prefork (a symlink to binary) with a pidfile and 2 workers, its
// metrics on a free loopback port unless toml says otherwise.
struct Upgradable {
  TempDir dir;
  std::string link;
  std::string config;
  std::string pidfile;
  std::optional<Server> server;
  int port = 0;

  // toml: the config file after "workers = 2"; env: entries for the master's environment.
  Upgradable(const std::string& binary, std::vector<std::string> args = {},
             const std::string& toml = file_config(), const std::vector<std::string>& env = {})
      : link(dir.file("prefork")),
        config(dir.write("prefork.toml", "workers = 2\n" + toml)),
        pidfile(dir.file("prefork.pid")) {
    point_link_at(link, binary);
    std::vector<std::string> all = {"-c", config, "-p", pidfile, "--graceful-timeout", "10"};
    if (std::find(args.begin(), args.end(), "-b") == args.end())
      all.insert(all.end(), {"-b", "127.0.0.1:0"});
    all.insert(all.end(), args.begin(), args.end());
    server.emplace(link, all, env);
    port = server->port();
  }

  Server& master() { return *server; }
  // Listening, with both workers up.
  bool serving() { return port > 0 && master().wait_for_worker_count(2); }
  pid_t pid() const { return server->pid(); }
  std::string oldbin() const { return pidfile + ".oldbin"; }

  // USR2, then the new master's pid once it says its workers serve; 0 at the deadline.
  pid_t upgrade() {
    std::size_t before = master().count_lines(") ready");
    master().signal(SIGUSR2);
    if (!master().wait_for_lines(") ready", before + 1, upgrade_timeout)) return 0;
    return ready_pid(before);
  }

  // WINCH to the old master: its workers stop, and only the new master is left of its children.
  bool winch_old(pid_t new_master) {
    master().signal(SIGWINCH);
    return eventually([&] { return master().workers() == std::vector<pid_t>{new_master}; },
                      upgrade_timeout);
  }

  // A signal to stop a new master the old one still runs: the old one reaps it and says so.
  bool stop_new_master(pid_t new_master, int signum = SIGQUIT) {
    kill(new_master, signum);
    return master()
        .wait_for_line("new master (pid " + std::to_string(new_master) + ") exited with code 0",
                       upgrade_timeout)
        .has_value();
  }

  // The pid in the (index+1)-th "new master (pid N) ready" line.
  pid_t ready_pid(std::size_t index) {
    std::string log = master().log();
    std::size_t at = 0;
    for (std::size_t i = 0; i <= index; ++i) {
      at = log.find(") ready", at);
      if (at == std::string::npos) return 0;
      at += 1;
    }
    std::size_t start = log.rfind("new master (pid ", at);
    if (start == std::string::npos) return 0;
    return pid_t(std::atol(log.c_str() + start + 16));
  }
};

std::string make_script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.write(name, "#!/bin/sh\n" + body + "\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

// After USR2 with a new master that cannot start: the line, the old master's pidfile back, no
// .oldbin, its title without "(old)", the same workers, and every request of load answered.
void check_failed_upgrade(Upgradable& up, const std::string& exit_text) {
  Server& master = up.master();
  std::vector<pid_t> workers = master.workers();
  Load load(up.port, 4, "/pid");
  REQUIRE(eventually([&] { return load.answered() >= 20; }));
  master.signal(SIGUSR2);
  REQUIRE(master.wait_for_line("USR2: starting a new master").has_value());
  REQUIRE(master.wait_for_line(exit_text, upgrade_timeout).has_value());
  CHECK(master.wait_for_line("the old master keeps serving", 1s).has_value());
  CHECK(read_pidfile(up.pidfile) == up.pid());
  CHECK_FALSE(path_exists(up.oldbin()));
  CHECK(eventually([&] { return process_cmdline(up.pid()).find("(old)") == std::string::npos; }));
  CHECK(load.answers_more(20));
  load.stop();
  CHECK(load.failed() == 0);
  std::vector<pid_t> after = master.workers();
  std::sort(workers.begin(), workers.end());
  std::sort(after.begin(), after.end());
  CHECK(after == workers);
  CHECK(process_alive(up.pid()));
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  doctest::Context context(argc, argv);
  return context.run();
}

TEST_CASE("USR2 then TERM of the old master: no request fails, the new master takes over") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  std::vector<pid_t> old_workers = up.master().workers();
  Load load(up.port, 4, "/pid");
  REQUIRE(eventually([&] { return load.answered() >= 50; }));

  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  CHECK(read_pidfile(up.oldbin()) == up.pid());
  CHECK(read_pidfile(up.pidfile) == new_master);
  CHECK(contains(up.master().workers(), new_master));
  REQUIRE(eventually([&] { return children_of(new_master).size() == 2; }));
  std::vector<pid_t> new_workers = children_of(new_master);
  CHECK(up.master().count_lines("Listening at: http://127.0.0.1:" + std::to_string(up.port) + " (" +
                                std::to_string(new_master) + ")") == 1);

  up.master().signal(SIGTERM);
  CHECK(up.master().wait_exit(upgrade_timeout) == 0);
  long at_switch = load.answered();
  // The new workers alone now answer for a while.
  CHECK(eventually([&] { return load.answered() >= at_switch + 100; }, 20s));
  load.stop();
  CHECK(load.failed() == 0);
  std::set<pid_t> answering = load.pids();
  for (pid_t pid : answering) CHECK((contains(old_workers, pid) || contains(new_workers, pid)));
  CHECK(std::any_of(new_workers.begin(), new_workers.end(),
                    [&](pid_t pid) { return answering.count(pid) == 1; }));

  CHECK(up.master().wait_for_line("Master has been promoted").has_value());
  CHECK(read_pidfile(up.pidfile) == new_master);
  CHECK_FALSE(path_exists(up.oldbin()));
  CHECK(http_get(up.port, "/").status == 200);
  CHECK(adopted.stop(SIGTERM) == 0);
  CHECK_FALSE(path_exists(up.pidfile));
}

TEST_CASE("a relative argv[0] and config path are found from where the master started") {
  TempDir dir;
  point_link_at(dir.file("prefork"), hello_binary());
  dir.write("prefork.toml", "workers = 1\n" + file_config());
  char started_in[4096];
  REQUIRE(getcwd(started_in, sizeof started_in));
  // The master starts in dir as ./prefork -c prefork.toml, then changes to / (chdir).
  REQUIRE(chdir(dir.path().c_str()) == 0);
  Server master("./prefork", {"-c", "prefork.toml", "--chdir", "/", "-b", "127.0.0.1:0"});
  REQUIRE(chdir(started_in) == 0);
  int port = master.port();
  REQUIRE(port > 0);
  master.signal(SIGUSR2);
  auto ready = master.wait_for_line(") ready", upgrade_timeout);
  REQUIRE(ready.has_value());
  pid_t new_master = pid_t(std::atol(ready->c_str() + ready->find("(pid ") + 5));
  Adopted adopted(new_master, master.pid());
  CHECK(master.count_lines("USR2: starting a new master: " + dir.path() + "/./prefork") == 1);
  master.signal(SIGTERM);
  REQUIRE(master.wait_exit(upgrade_timeout) == 0);
  CHECK(http_get(port, "/").status == 200);
  CHECK(adopted.stop(SIGTERM) == 0);
}

TEST_CASE("the new master starts from the old one's start environment, not what raw_env set") {
  const std::string query = "/env?name=PREFORK_UPGRADE_MARK";
  // hello's /env, off unless [app] turns it on.
  const std::string expose_env = "[app]\nexpose_env = true\n";
  Upgradable up(hello_binary(), {},
                "raw_env = [\"PREFORK_UPGRADE_MARK=raw\"]\n" + file_config() + expose_env,
                {"PREFORK_UPGRADE_MARK=start"});
  REQUIRE(up.serving());
  CHECK(http_get(up.port, query).body == "raw");
  up.dir.write("prefork.toml", "workers = 2\nraw_env = []\n" + file_config() + expose_env);
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  up.master().signal(SIGTERM);
  REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
  // Only the new master's workers are left to answer.
  Reply reply = http_get(up.port, query);
  CHECK(reply.status == 200);
  CHECK(reply.body == "start");
  CHECK(adopted.stop(SIGTERM) == 0);
}

TEST_CASE("a new binary that exits 3 leaves the old master serving with its pidfile") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  point_link_at(up.link, make_script(up.dir, "broken", "exit 3"));
  check_failed_upgrade(up, "exited with code 3");
}

TEST_CASE("a binary that cannot be executed: the child exits 127, the old master serves on") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  point_link_at(up.link, up.dir.write("not-executable", "MZ garbage"));
  check_failed_upgrade(up, "exited with code 127");
  CHECK(up.master().wait_for_line("cannot execute " + up.link + ": EACCES", 1s).has_value());
}

TEST_CASE("a new master that finds its config broken exits 2; the old one serves on") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  up.dir.write("prefork.toml", "workers = 2\nno_such_setting = 1\n" + file_config());
  check_failed_upgrade(up, "exited with code 2");
}

TEST_CASE("a new master that cannot load the app exits 3; the old one serves on") {
  TempDir modules;
  std::string module = modules.file("libhello.so");
  REQUIRE(std::system(("cp " + built_path("HELLO_MODULE") + " " + module).c_str()) == 0);
  Upgradable up(prefork_binary(), {"--app", module + ":hello"});
  REQUIRE(up.serving());
  {
    // A worker loads the app after its fork: both must have it before it goes.
    Load load(up.port, 2, "/pid");
    REQUIRE(eventually([&] { return load.pids().size() == 2; }));
  }
  REQUIRE(::unlink(module.c_str()) == 0);
  check_failed_upgrade(up, "exited with code 3");
}

TEST_CASE("USR2, WINCH and QUIT of the old master: no request fails") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  Load load(up.port, 4);
  REQUIRE(eventually([&] { return load.answered() >= 50; }));
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  REQUIRE(up.winch_old(new_master));
  CHECK(load.answers_more(50));
  up.master().signal(SIGQUIT);
  CHECK(up.master().wait_exit(upgrade_timeout) == 0);
  CHECK(load.answers_more(50));
  load.stop();
  CHECK(load.failed() == 0);
  CHECK(up.master().wait_for_line("Master has been promoted").has_value());
  CHECK(read_pidfile(up.pidfile) == new_master);
  CHECK(adopted.stop(SIGTERM) == 0);
}

TEST_CASE("rollback: USR2, WINCH old, HUP old, TERM new: the old master serves as before") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  Load load(up.port, 4);
  REQUIRE(eventually([&] { return load.answered() >= 50; }));
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  REQUIRE(up.winch_old(new_master));
  up.master().signal(SIGHUP);
  REQUIRE(eventually([&] { return up.master().workers().size() == 3; }, upgrade_timeout));
  // TERM: the new workers finish what they serve (QUIT would cut it short).
  REQUIRE(up.stop_new_master(new_master, SIGTERM));
  CHECK(read_pidfile(up.pidfile) == up.pid());
  CHECK_FALSE(path_exists(up.oldbin()));
  CHECK(up.master().wait_for_worker_count(2));
  CHECK(load.answers_more(50));
  load.stop();
  CHECK(load.failed() == 0);
}

TEST_CASE("a new master that exits while the old one is WINCHed: the old one respawns workers") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  REQUIRE(up.winch_old(new_master));
  kill(new_master, SIGQUIT);
  CHECK(up.master()
            .wait_for_line("Respawning the workers stopped by WINCH", upgrade_timeout)
            .has_value());
  CHECK(up.master().wait_for_worker_count(2, upgrade_timeout));
  CHECK(eventually([&] { return http_get(up.port, "/").status == 200; }));
  CHECK(read_pidfile(up.pidfile) == up.pid());
}

TEST_CASE("a unix socket survives the old master's TERM and an unpromoted new master's exit") {
  TempDir sockets;
  std::string path = sockets.file("app.sock");
  Upgradable up(hello_binary(), {"-b", "unix:" + path, "-b", "127.0.0.1:0"});
  REQUIRE(up.serving());
  REQUIRE(http_get_unix(path, "/").status == 200);

  // A new master that stops before it is promoted leaves the file to the old one.
  pid_t first = up.upgrade();
  REQUIRE(first > 0);
  {
    Adopted adopted(first, up.pid());
    kill(first, SIGTERM);
    REQUIRE(
        up.master()
            .wait_for_line("new master (pid " + std::to_string(first) + ") exited", upgrade_timeout)
            .has_value());
  }
  CHECK(path_exists(path));
  CHECK(http_get_unix(path, "/").status == 200);

  pid_t second = up.upgrade();
  REQUIRE(second > 0);
  Adopted adopted(second, up.pid());
  up.master().signal(SIGTERM);
  REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
  CHECK(path_exists(path));
  CHECK(http_get_unix(path, "/").status == 200);
  REQUIRE(up.master().wait_for_line("Master has been promoted").has_value());
  // Promoted, the new master owns the file.
  CHECK(adopted.stop(SIGTERM) == 0);
  CHECK_FALSE(path_exists(path));
}

TEST_CASE("a unix socket file left to a new master that exits unpromoted is removed") {
  TempDir sockets;
  std::string path = sockets.file("app.sock");
  Upgradable up(hello_binary(), {"-b", "unix:" + path, "-b", "127.0.0.1:0", "--graceful-timeout",
                                 "60", "-t", "90"});
  REQUIRE(up.serving());
  // An old worker inside a long request keeps the old master stopping, not gone.
  auto slow = std::async(std::launch::async, [&] { return http_get(up.port, "/sleep?ms=60000"); });
  REQUIRE(eventually([&] {
    std::vector<pid_t> workers = up.master().workers();
    return std::any_of(workers.begin(), workers.end(), sleeping_in_handler);
  }));
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  up.master().signal(SIGTERM);
  // TERM is handled: the idle old worker has gone, the busy one and the new master are left.
  REQUIRE(eventually([&] { return up.master().workers().size() == 2; }, upgrade_timeout));
  CHECK(path_exists(path));
  REQUIRE(up.stop_new_master(new_master, SIGTERM));
  CHECK(process_alive(up.pid()));
  CHECK_FALSE(path_exists(path));
  up.master().signal(SIGQUIT);
  CHECK(up.master().wait_exit(upgrade_timeout) == 0);
  CHECK_FALSE(slow.get().ok);
}

TEST_CASE("an https listener is inherited with its TLS; reuse_port placeholders stay idle") {
  Certificates certificates;
  certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
  std::vector<std::string> tls = {"--certfile", certificates.file("server.pem"), "--keyfile",
                                  certificates.file("server.key")};
  auto curl = [&](int port) {
    std::string output;
    int status =
        prefork::testing::run_command("curl -sS --max-time 10 --cacert " + certificates.ca() +
                                          " https://127.0.0.1:" + std::to_string(port) + "/",
                                      output);
    return status == 0 && output == "Hello, World!";
  };
  SUBCASE("https") {
    std::vector<std::string> args = tls;
    args.insert(args.end(), {"-b", "https://127.0.0.1:0"});
    Upgradable up(hello_binary(), args);
    int port = up.master().port_of("Listening at: https://");
    REQUIRE(port > 0);
    REQUIRE(up.master().wait_for_worker_count(2));
    pid_t new_master = up.upgrade();
    REQUIRE(new_master > 0);
    Adopted adopted(new_master, up.pid());
    CHECK(up.master().count_lines("Listening at: https://127.0.0.1:" + std::to_string(port) + " (" +
                                  std::to_string(new_master) + ")") == 1);
    up.master().signal(SIGTERM);
    REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
    CHECK(curl(port));
    CHECK(adopted.stop(SIGTERM) == 0);
  }
  SUBCASE("without certfile the new master refuses the https socket and exits 2") {
    std::vector<std::string> args = tls;
    args.insert(args.end(), {"-b", "https://127.0.0.1:0"});
    Upgradable up(hello_binary(), args);
    int port = up.master().port_of("Listening at: https://");
    REQUIRE(port > 0);
    REQUIRE(up.master().wait_for_worker_count(2));
    // The next start has no certificate: the command line names it, so the link goes to a
    // script that drops the TLS flags.
    std::string script = make_script(
        up.dir, "no-tls", "exec " + hello_binary() + " -c " + up.config + " -p " + up.pidfile);
    point_link_at(up.link, script);
    up.master().signal(SIGUSR2);
    CHECK(up.master().wait_for_line("needs certfile", upgrade_timeout).has_value());
    CHECK(up.master().wait_for_line("exited with code 2", upgrade_timeout).has_value());
    CHECK(curl(port));
  }
  SUBCASE("reuse_port") {
    Upgradable up(hello_binary(), {"--reuse-port"});
    REQUIRE(up.port > 0);
    REQUIRE(up.master().wait_for_worker_count(2));
    pid_t new_master = up.upgrade();
    REQUIRE(new_master > 0);
    Adopted adopted(new_master, up.pid());
    up.master().signal(SIGTERM);
    REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
    // Every connection reaches a worker: none waits in a placeholder's queue.
    Load load(up.port, 4);
    CHECK(eventually([&] { return load.answered() >= 200; }, 20s));
    load.stop();
    CHECK(load.failed() == 0);
    CHECK(adopted.stop(SIGTERM) == 0);
  }
}

TEST_CASE("the new master holds nothing of the old one but the listeners, metrics and stdio") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  std::map<int, std::string> old_fds = fd_targets(up.pid());
  std::map<int, std::string> new_fds = fd_targets(new_master);
  std::map<int, std::string> runner_fds = fd_targets(getpid());
  REQUIRE(same_open_file(new_master, 0, getpid(), 0).has_value());
  auto held_by = [&](pid_t other, const std::map<int, std::string>& fds, int fd) {
    return std::any_of(fds.begin(), fds.end(), [&](const auto& entry) {
      return same_open_file(new_master, fd, other, entry.first).value_or(false);
    });
  };
  std::string shared;
  for (const auto& [fd, target] : new_fds) {
    // stdio, and what the test runner left open, reach both masters through the test.
    if (fd <= 2 || held_by(getpid(), runner_fds, fd)) continue;
    if (held_by(up.pid(), old_fds, fd)) shared += std::to_string(fd) + " " + target + ", ";
  }
  // The listener and the metrics socket, each under the number it had in the old master.
  int listener = -1, metrics = -1;
  for (const auto& [fd, target] : old_fds) {
    if (!target.starts_with("socket:")) continue;
    if (same_open_file(new_master, fd, up.pid(), fd).value_or(false))
      (listener < 0 ? listener : metrics) = fd;
  }
  REQUIRE(listener >= 0);
  REQUIRE(metrics >= 0);
  CHECK(shared == std::to_string(listener) + " " + new_fds[listener] + ", " +
                      std::to_string(metrics) + " " + new_fds[metrics] + ", ");
  CHECK(up.stop_new_master(new_master));
}

TEST_CASE("the old master's title says so, and it refuses a second USR2") {
  Upgradable up(hello_binary());
  REQUIRE(up.serving());
  CHECK(process_cmdline(up.pid()).find("master (old)") == std::string::npos);
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  CHECK(eventually(
      [&] { return process_cmdline(up.pid()).find("master (old)") != std::string::npos; }));
  CHECK(process_cmdline(new_master).find("(old)") == std::string::npos);
  // The old master forks with every signal blocked; exec must not pass that mask on.
  CHECK(eventually([&] { return status_field(new_master, "SigBlk") == "0000000000000000"; }));
  up.master().signal(SIGUSR2);
  CHECK(up.master()
            .wait_for_line("USR2 ignored: new master (pid " + std::to_string(new_master) +
                           ") is running")
            .has_value());
  kill(new_master, SIGUSR2);
  CHECK(up.master().wait_for_line("USR2 ignored: this master is not promoted yet").has_value());
  CHECK(up.master().count_lines("USR2: starting a new master") == 1);
  CHECK(up.stop_new_master(new_master));
}

TEST_CASE("with a fixed metrics port the new master serves metrics on the inherited socket") {
  int metrics = 0;
  {
    // A free port, released for the master to bind.
    TempDir probe_dir;
    Server probe(hello_binary(),
                 {"-c", probe_dir.write("p.toml", file_config()), "-b", "127.0.0.1:0", "-w", "1"});
    metrics = metrics_port(probe);
    probe.signal(SIGTERM);
    REQUIRE(probe.wait_exit().has_value());
  }
  REQUIRE(metrics > 0);
  Upgradable up(
      hello_binary(), {},
      "[metrics]\nport = " + std::to_string(metrics) + "\nbind_address = \"127.0.0.1\"\n");
  REQUIRE(up.serving());
  // A new metrics port waits for a restart, as new binds do, and the log says so.
  up.dir.write("prefork.toml", "workers = 2\n[metrics]\nport = " + std::to_string(metrics + 1) +
                                   "\nbind_address = \"127.0.0.1\"\n");
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  CHECK(up.master().count_lines("Metrics listening at: http://127.0.0.1:" +
                                std::to_string(metrics)) == 2);
  CHECK(up.master().count_lines("Inherited the metrics socket from the old master (pid " +
                                std::to_string(up.pid()) +
                                "); metrics address changes take effect on restart") == 1);
  CHECK(up.master().log().find("address already in use") == std::string::npos);
  up.master().signal(SIGTERM);
  REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
  CHECK(eventually([&] { return !scrape(metrics).empty(); }));
  CHECK(adopted.stop(SIGTERM) == 0);
}

TEST_CASE("under systemd the old master hands the service to the new one and then stays silent") {
  TempDir sockets;
  NotifySocket systemd(sockets.file("notify.sock"));
  Upgradable up(hello_binary(), {}, file_config(), {systemd.env()});
  REQUIRE(up.port > 0);
  std::optional<NotifyMessage> ready = systemd.wait_for("READY=1", upgrade_timeout);
  REQUIRE(ready.has_value());
  CHECK(ready->pid == up.pid());

  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  // The new master's READY=1 and the old one's MAINPID= come in either order.
  bool new_ready = false, handed_over = false;
  while (!(new_ready && handed_over)) {
    std::optional<NotifyMessage> message = systemd.next(upgrade_timeout);
    REQUIRE(message.has_value());
    if (message->has("READY=1") && message->pid == new_master) new_ready = true;
    if (message->value("MAINPID") == std::to_string(new_master)) {
      CHECK(message->pid == up.pid());
      handed_over = true;
    }
  }
  up.master().signal(SIGTERM);
  REQUIRE(up.master().wait_exit(upgrade_timeout) == 0);
  CHECK(adopted.stop(SIGTERM) == 0);
  // Both have exited, so all they sent is queued. STOPPING=1 only from the new master, the old one
  // said nothing more.
  while (systemd.next(0ms)) {
  }
  for (const NotifyMessage& message : systemd.received()) {
    if (message.has("STOPPING=1")) CHECK(message.pid == new_master);
  }
  CHECK(std::any_of(systemd.received().begin(), systemd.received().end(),
                    [&](const NotifyMessage& m) { return m.has("STOPPING=1"); }));
}

TEST_CASE("under systemd a rollback gives the service back to the old master") {
  TempDir sockets;
  NotifySocket systemd(sockets.file("notify.sock"));
  // The watchdog is fed every 250 ms: the old master's silence, then its return, show.
  Upgradable up(hello_binary(), {}, file_config(), {systemd.env(), "WATCHDOG_USEC=500000"});
  REQUIRE(up.port > 0);
  std::optional<NotifyMessage> ready = systemd.wait_for("READY=1", upgrade_timeout);
  REQUIRE(ready.has_value());
  CHECK(ready->pid == up.pid());
  pid_t new_master = up.upgrade();
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, up.pid());
  // Each step is one message; its place in received() orders it.
  auto next_index = [&](auto matches) -> std::optional<std::size_t> {
    for (;;) {
      std::optional<NotifyMessage> message = systemd.next(upgrade_timeout);
      if (!message) return std::nullopt;
      if (matches(*message)) return systemd.received().size() - 1;
    }
  };
  std::string old_pid = std::to_string(up.pid()), new_pid = std::to_string(new_master);
  std::optional<std::size_t> handed =
      next_index([&](const NotifyMessage& m) { return m.value("MAINPID") == new_pid; });
  REQUIRE(handed.has_value());
  CHECK(systemd.received()[*handed].pid == up.pid());

  kill(new_master, SIGTERM);
  // The new master names the old one the main pid before it exits, then the old one, having
  // reaped it, takes the service back.
  std::optional<std::size_t> given_back =
      next_index([&](const NotifyMessage& m) { return m.value("MAINPID") == old_pid; });
  REQUIRE(given_back.has_value());
  CHECK(systemd.received()[*given_back].pid == new_master);
  std::optional<std::size_t> taken_back = next_index(
      [&](const NotifyMessage& m) { return m.pid == up.pid() && m.value("MAINPID") == old_pid; });
  REQUIRE(taken_back.has_value());
  const NotifyMessage& back = systemd.received()[*taken_back];
  CHECK(back.has("READY=1"));
  CHECK(back.value("STATUS").has_value());
  CHECK(up.master()
            .wait_for_line("new master (pid " + new_pid + ") exited with code 0", upgrade_timeout)
            .has_value());
  // Silent while the new master was the service, the old one feeds the watchdog again.
  for (std::size_t i = *handed + 1; i < *taken_back; ++i)
    CHECK(systemd.received()[i].pid != up.pid());
  CHECK(next_index([&](const NotifyMessage& m) {
          return m.pid == up.pid() && m.has("WATCHDOG=1");
        }).has_value());
  CHECK(process_alive(up.pid()));
  CHECK(http_get(up.port, "/").status == 200);
  for (const NotifyMessage& message : systemd.received()) CHECK_FALSE(message.has("STOPPING=1"));
}
