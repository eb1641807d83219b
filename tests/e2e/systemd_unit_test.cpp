// deploy/systemd/prefork.service run as systemd runs it: its ExecStart, Environment= and
// RuntimeDirectory= as the unit says (read from the installed file meson configured), with a
// listening socket passed as prefork.socket passes it (LISTEN_FDS), NOTIFY_SOCKET, ExecReload,
// KillMode=mixed's TERM to the master alone, and the binary upgrade of README's walk-through.
// The test is systemd: its /etc and /run are directories of a temporary root, and the unit's
// program is the built binary.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"
#include "support/text.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::split;

namespace {

// A unit file's settings by key; keys given more than once keep every value, in order.
class Unit {
 public:
  explicit Unit(const std::string& path) {
    std::ifstream file(path);
    REQUIRE(file.good());
    std::string line;
    while (std::getline(file, line)) {
      if (line.empty() || line[0] == '#' || line[0] == '[') continue;
      auto equals = line.find('=');
      if (equals != std::string::npos)
        settings_[line.substr(0, equals)].push_back(line.substr(equals + 1));
    }
  }
  const std::vector<std::string>& all(const std::string& key) const {
    static const std::vector<std::string> none;
    auto found = settings_.find(key);
    return found == settings_.end() ? none : found->second;
  }
  std::string value(const std::string& key) const {
    const std::vector<std::string>& values = all(key);
    return values.empty() ? "" : values.back();
  }

 private:
  std::map<std::string, std::vector<std::string>> settings_;
};

// The directory standing for "/": the unit's absolute paths are found under it.
class Root {
 public:
  std::string path(const std::string& absolute) const { return dir_.path() + absolute; }
  std::string reroot(const std::string& word) const {
    return word.starts_with('/') ? path(word) : word;
  }
  std::string write(const std::string& absolute, std::string_view content) const {
    std::filesystem::create_directories(std::filesystem::path(path(absolute)).parent_path());
    std::ofstream(path(absolute)) << content;
    return path(absolute);
  }

 private:
  TempDir dir_;
};

// prefork.socket's socket, on its ListenStream's address (an IPv4 one: the loopback's) but a
// free port rather than 8000, and inheritable, as systemd passes it.
class SocketUnit {
 public:
  explicit SocketUnit(const Unit& unit) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    const std::string listen = unit.value("ListenStream");
    const std::string host = listen.substr(0, listen.rfind(':'));
    INFO("ListenStream=", listen);
    REQUIRE(inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1);
    socklen_t size = sizeof address;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) == 0);
    REQUIRE(::listen(fd_, std::stoi(unit.value("Backlog"))) == 0);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~SocketUnit() { ::close(fd_); }
  SocketUnit(const SocketUnit&) = delete;
  SocketUnit& operator=(const SocketUnit&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

const Unit& service_unit() {
  static const Unit unit(PREFORK_SERVICE_UNIT);
  return unit;
}

const Unit& socket_unit() {
  static const Unit unit(PREFORK_SOCKET_UNIT);
  return unit;
}

// ExecStart's argument after option: the config file, the pidfile.
std::string exec_start_argument(const std::string& option) {
  std::vector<std::string> command = split(service_unit().value("ExecStart"), " \t");
  auto found = std::find(command.begin(), command.end(), option);
  REQUIRE(found + 1 < command.end());
  return *(found + 1);
}

// What systemd does before ExecStart: RuntimeDirectory= made afresh (it removes them when the
// service stops).
void make_runtime_directories(const Root& root) {
  std::filesystem::remove_all(root.path("/run"));
  for (const std::string& name : split(service_unit().value("RuntimeDirectory"), " \t"))
    std::filesystem::create_directories(root.path("/run/" + name));
}

// ExecStart in the unit's environment, with the socket as fd 3 (SD_LISTEN_FDS_START) and
// LISTEN_PID its own pid: bash moves the descriptor and names its pid, then becomes prefork.
std::unique_ptr<Server> start_service(const Root& root, const SocketUnit& socket,
                                      const NotifySocket& notify) {
  make_runtime_directories(root);
  std::vector<std::string> command = split(service_unit().value("ExecStart"), " \t");
  REQUIRE_FALSE(command.empty());
  std::string fd = std::to_string(socket.fd());
  std::string move_to_3 = socket.fd() == 3 ? "" : "exec 3<&" + fd + " " + fd + "<&-; ";
  std::vector<std::string> args = {"-c", move_to_3 + "export LISTEN_PID=$$; exec \"$0\" \"$@\"",
                                   prefork_binary()};
  for (std::size_t i = 1; i < command.size(); ++i) args.push_back(root.reroot(command[i]));
  std::vector<std::string> env = {notify.env(), "LISTEN_FDS=1", "LISTEN_FDNAMES=prefork.socket"};
  for (const std::string& assignment : service_unit().all("Environment")) {
    auto equals = assignment.find('=');
    REQUIRE(equals != std::string::npos);
    env.push_back(assignment.substr(0, equals + 1) + root.reroot(assignment.substr(equals + 1)));
  }
  return std::make_unique<Server>("/bin/bash", args, env);
}

// The config an operator writes, with binds the socket replaces: a unix socket file that must
// never appear.
std::string operator_config(const Root& root) {
  return "workers = 2\n"
         "bind = \"unix:" +
         root.path("/config-bind.sock") + "\"\napp = \"" + built_path("HELLO_MODULE") +
         ":hello\"\n[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\n";
}

std::size_t db_files(const std::string& directory) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    count += entry.path().extension() == ".db";
  return count;
}

// The value the unit's Environment= gives name.
std::string environment_value(const std::string& name) {
  for (const std::string& assignment : service_unit().all("Environment")) {
    if (assignment.starts_with(name + "=")) return assignment.substr(name.size() + 1);
  }
  FAIL("no Environment=" << name << "= in the unit");
  return "";
}

std::chrono::seconds stop_timeout() {
  return std::chrono::seconds(std::stoi(service_unit().value("TimeoutStopSec")));
}

// The service as systemd runs it: the operator's config under a stand-in root, prefork.socket's
// socket, the notify socket, and ExecStart started.
struct Service {
  Root root;
  SocketUnit socket{socket_unit()};
  NotifySocket notify{root.path("/notify.sock")};
  std::unique_ptr<Server> process;

  Service() {
    root.write(exec_start_argument("-c"), operator_config(root));
    start();
  }
  void start() { process = start_service(root, socket, notify); }
};

}  // namespace

TEST_CASE("with prefork.socket: READY=1, systemd's socket serves, the config's binds do not") {
  Service service;

  std::optional<NotifyMessage> ready = service.notify.wait_for("READY=1", 20s);
  REQUIRE(ready.has_value());
  CHECK(ready->pid == service.process->pid());
  CHECK(ready->value("STATUS") == "2 workers");
  CHECK(service.process->port() == service.socket.port());
  CHECK(http_get(service.socket.port(), "/").status == 200);
  CHECK_FALSE(path_exists(service.root.path("/config-bind.sock")));
  // The pidfile and the metric files are in the runtime directory.
  CHECK(read_pidfile(service.root.path(exec_start_argument("-p"))) == service.process->pid());
  std::string metrics_dir = service.root.path(environment_value("PROMETHEUS_MULTIPROC_DIR"));
  CHECK(eventually([&] { return db_files(metrics_dir) > 0; }));
}

TEST_CASE("ExecReload: RELOADING=1, then READY=1 once new workers serve on the same socket") {
  Service service;
  REQUIRE(service.notify.wait_for("READY=1", 20s).has_value());
  REQUIRE(service.process->wait_for_worker_count(2));
  std::vector<pid_t> old_workers = service.process->workers();

  std::string reload = service_unit().value("ExecReload");
  std::string main_pid = "$MAINPID";
  reload.replace(reload.find(main_pid), main_pid.size(), std::to_string(service.process->pid()));
  std::string output;
  CHECK(prefork::testing::run_command(reload, output) == 0);
  std::optional<NotifyMessage> reloading = service.notify.wait_for("RELOADING=1");
  REQUIRE(reloading.has_value());
  CHECK(reloading->pid == service.process->pid());
  std::optional<NotifyMessage> ready = service.notify.wait_for("READY=1", 20s);
  REQUIRE(ready.has_value());
  CHECK(ready->value("STATUS") == "2 workers");
  CHECK(eventually([&] { return all_replaced(service.process->workers(), old_workers); }));
  CHECK(http_get(service.socket.port(), "/").status == 200);
}

TEST_CASE("TERM to the master alone stops the service; the next start answers what waited") {
  Service service;
  REQUIRE(service.notify.wait_for("READY=1", 20s).has_value());
  REQUIRE(service.process->wait_for_worker_count(2));
  std::vector<pid_t> workers = service.process->workers();

  // KillMode=mixed: the master alone gets TERM, and stops its workers before it exits.
  service.process->signal(SIGTERM);
  std::optional<NotifyMessage> stopping = service.notify.wait_for("STOPPING=1");
  REQUIRE(stopping.has_value());
  CHECK(stopping->pid == service.process->pid());
  CHECK(service.process->wait_exit(stop_timeout()) == 0);
  for (pid_t worker : workers) CHECK_FALSE(process_alive(worker));

  // systemd still holds the socket: a request made while no prefork runs waits in its backlog.
  Client waiting(service.socket.port(), 30s);
  REQUIRE(waiting.connected());
  REQUIRE(waiting.send_get("/"));
  service.start();
  REQUIRE(service.notify.wait_for("READY=1", 20s).has_value());
  CHECK(waiting.read_reply().status == 200);
}

TEST_CASE("USR2 to the main process: the new master serves on systemd's socket and gets MAINPID") {
  // systemd adopts the new master when the old one exits; here the test does.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Service service;
  REQUIRE(service.notify.wait_for("READY=1", 20s).has_value());
  pid_t old_master = service.process->pid();

  service.process->signal(SIGUSR2);
  std::optional<std::string> ready = service.process->wait_for_line(") ready", 30s);
  REQUIRE(ready.has_value());
  pid_t new_master = std::atoi(ready->c_str() + ready->find("(pid ") + 5);
  REQUIRE(new_master > 0);
  Adopted adopted(new_master, old_master);
  std::optional<NotifyMessage> handed =
      service.notify.wait_for("MAINPID=" + std::to_string(new_master));
  REQUIRE(handed.has_value());
  CHECK(handed->pid == old_master);
  std::string pidfile = service.root.path(exec_start_argument("-p"));
  CHECK(read_pidfile(pidfile) == new_master);
  CHECK(read_pidfile(pidfile + ".oldbin") == old_master);
  CHECK(service.process->count_lines(
            "Listening at: http://127.0.0.1:" + std::to_string(service.socket.port()) + " (" +
            std::to_string(new_master) + ")") == 1);

  // As README says: TERM to the pid in PIDFILE.oldbin.
  kill(read_pidfile(pidfile + ".oldbin"), SIGTERM);
  CHECK(service.process->wait_exit(stop_timeout()) == 0);
  REQUIRE(eventually([&] { return children_of(new_master).size() == 2; }));
  Reply reply = http_get(service.socket.port(), "/pid");
  REQUIRE(reply.status == 200);
  CHECK(parent_pid(std::atoi(reply.body.c_str())) == new_master);
  CHECK(adopted.stop(SIGTERM, stop_timeout()) == 0);
  std::optional<NotifyMessage> stopping = service.notify.wait_for("STOPPING=1");
  REQUIRE(stopping.has_value());
  CHECK(stopping->pid == new_master);
}

TEST_CASE("LimitNOFILE leaves each worker its worker_connections connections and its files") {
  std::string config;
  REQUIRE(prefork::testing::run_command(prefork_binary() + " --print-config", config) == 0);
  const std::string key = "\nworker_connections = ";
  std::size_t at = config.find(key);
  REQUIRE(at != std::string::npos);
  const long connections = std::stol(config.substr(at + key.size()));
  // Without LimitNOFILE a unit gets systemd's soft limit, 1024, which the default 1000
  // connections and the listeners, logs, metric file and the app's own descriptors exceed
  // (accept() fails with EMFILE): the connections, and that much again for the rest.
  const long limit = std::stol(service_unit().value("LimitNOFILE"));
  INFO("worker_connections = ", connections, ", LimitNOFILE=", limit);
  CHECK(limit >= connections + 1024);
}
