#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "master/listeners.hpp"

using namespace prefork;

namespace {

config::Bind tcp(std::string host, int port = 0) {
  config::Bind bind;
  bind.kind = config::Bind::Kind::tcp;
  bind.host = host;
  bind.port = port;
  bind.text = host + ":" + std::to_string(port);
  return bind;
}

config::Bind unix_socket(std::string path) {
  config::Bind bind;
  bind.kind = config::Bind::Kind::unix_socket;
  bind.path = path;
  bind.text = "unix:" + path;
  return bind;
}

int port_of(const master::Listener& listener) {
  auto& v4 = reinterpret_cast<const sockaddr_in&>(listener.address);
  return ntohs(v4.sin_port);
}

bool accepts_connections(const master::Listener& listener) {
  int fd = socket(listener.address.ss_family, SOCK_STREAM, 0);
  bool connected =
      connect(fd, reinterpret_cast<const sockaddr*>(&listener.address), listener.address_size) == 0;
  close(fd);
  return connected;
}

bool exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

std::string temp_dir() {
  char pattern[] = "/tmp/prefork-listeners-XXXXXX";
  return mkdtemp(pattern);
}

}  // namespace

TEST_CASE("port 0 binds a free port and the url shows the real one") {
  config::Config config;
  config.binds = {tcp("127.0.0.1")};
  master::BindOutcome bound = master::bind_listeners(config);
  REQUIRE(bound.status.ok());
  REQUIRE(bound.listeners.all().size() == 1);
  const master::Listener& listener = bound.listeners.all().front();
  CHECK(port_of(listener) > 0);
  CHECK(listener.url() == "http://127.0.0.1:" + std::to_string(port_of(listener)));
  CHECK(accepts_connections(listener));
}

TEST_CASE("IPv6 listeners are shown in brackets") {
  config::Config config;
  config.binds = {tcp("::1")};
  master::BindOutcome bound = master::bind_listeners(config);
  REQUIRE(bound.status.ok());
  CHECK(bound.listeners.all().front().url().rfind("http://[::1]:", 0) == 0);
}

TEST_CASE("a port in use is an error naming the bind") {
  config::Config config;
  config.binds = {tcp("127.0.0.1")};
  master::BindOutcome first = master::bind_listeners(config);
  REQUIRE(first.status.ok());
  config.binds = {tcp("127.0.0.1", port_of(first.listeners.all().front()))};
  master::BindOutcome second = master::bind_listeners(config);
  CHECK(second.status.message().find("bind 127.0.0.1:") == 0);
  CHECK(second.status.message().find("Address already in use") != std::string::npos);
}

TEST_CASE("reuse_port: the master holds the port without listening, workers open their own") {
  config::Config config;
  config.reuse_port = true;
  config.binds = {tcp("127.0.0.1")};
  master::BindOutcome bound = master::bind_listeners(config);
  REQUIRE(bound.status.ok());
  const master::Listener& listener = bound.listeners.all().front();
  CHECK(listener.per_worker);
  CHECK_FALSE(accepts_connections(listener));
  Result<UniqueFd> worker_fd = master::open_reuse_port_socket(listener, 16);
  REQUIRE(worker_fd.ok());
  Result<UniqueFd> second_fd = master::open_reuse_port_socket(listener, 16);
  CHECK(second_fd.ok());
  CHECK(accepts_connections(listener));
}

TEST_CASE("a unix socket replaces a stale socket file and is removed on close") {
  std::string dir = temp_dir();
  std::string path = dir + "/server.sock";
  config::Config config;
  config.binds = {unix_socket(path)};
  {
    master::BindOutcome stale = master::bind_listeners(config);
    REQUIRE(stale.status.ok());
    // A crashed master leaves its socket file behind: close the fd without removing the file.
    close(stale.listeners.all().front().fd);
    master::BindOutcome bound = master::bind_listeners(config);
    REQUIRE(bound.status.ok());
    CHECK(bound.listeners.all().front().url() == "unix:" + path);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    close(client);
    CHECK(exists(path));
  }
  CHECK_FALSE(exists(path));
  rmdir(dir.c_str());
}

TEST_CASE("a unix socket path that is a regular file is refused, not removed") {
  std::string dir = temp_dir();
  std::string path = dir + "/data";
  close(creat(path.c_str(), 0600));
  config::Config config;
  config.binds = {unix_socket(path)};
  master::BindOutcome bound = master::bind_listeners(config);
  CHECK(bound.status.message().find("is not a socket") != std::string::npos);
  CHECK(exists(path));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("fd://N adopts an inherited socket") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  config::Bind bind;
  bind.kind = config::Bind::Kind::fd;
  bind.fd = fd;
  bind.text = "fd://" + std::to_string(fd);
  config::Config config;
  config.binds = {bind};
  master::BindOutcome bound = master::bind_listeners(config);
  REQUIRE(bound.status.ok());
  CHECK(bound.listeners.all().front().fd == fd);
  CHECK(accepts_connections(bound.listeners.all().front()));
}

TEST_CASE("fd://N of something that is not a socket is an error") {
  config::Bind bind;
  bind.kind = config::Bind::Kind::fd;
  bind.fd = 999;
  bind.text = "fd://999";
  config::Config config;
  config.binds = {bind};
  master::BindOutcome bound = master::bind_listeners(config);
  CHECK(bound.status.message().find("fd://999 is not a socket") == 0);
}

TEST_CASE("systemd sockets are taken only when LISTEN_PID is this process") {
  setenv("LISTEN_PID", "1", 1);
  setenv("LISTEN_FDS", "2", 1);
  CHECK(master::take_systemd_fds().empty());
  CHECK(getenv("LISTEN_FDS") == nullptr);
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "2", 1);
  CHECK(master::take_systemd_fds() == std::vector<int>{3, 4});
  CHECK(getenv("LISTEN_PID") == nullptr);
}

TEST_CASE("inherited sockets keep their flags; a reuse_port placeholder is not made to listen") {
  config::Config config;
  config.reuse_port = true;
  config.binds = {tcp("127.0.0.1")};
  master::BindOutcome placeholder = master::bind_listeners(config);
  REQUIRE(placeholder.status.ok());
  config.reuse_port = false;
  master::BindOutcome listening = master::bind_listeners(config);
  REQUIRE(listening.status.ok());
  // What exec keeps open: the same sockets under their own numbers.
  std::vector<master::InheritedFd> inherited = {
      {dup(listening.listeners.all().front().fd), true, false, false},
      {dup(placeholder.listeners.all().front().fd), false, true, false}};
  // The configured binds do not count: the sockets are taken as they are.
  config.binds = {tcp("127.0.0.1", 1)};
  master::BindOutcome adopted = master::bind_listeners(config, inherited);
  REQUIRE(adopted.status.ok());
  REQUIRE(adopted.listeners.all().size() == 2);
  const master::Listener& tls = adopted.listeners.all()[0];
  const master::Listener& idle = adopted.listeners.all()[1];
  CHECK(tls.tls);
  CHECK(tls.url().rfind("https://127.0.0.1:", 0) == 0);
  CHECK(accepts_connections(tls));
  CHECK(idle.per_worker);
  CHECK_FALSE(accepts_connections(idle));
  CHECK(adopted.listeners.for_exec() == inherited);
}

TEST_CASE("an inherited unix socket file is removed only once the master is promoted") {
  std::string dir = temp_dir();
  std::string path = dir + "/server.sock";
  config::Config config;
  config.binds = {unix_socket(path)};
  // An old master's socket as its new master inherits it; the old one keeps the file on close.
  auto hand_over = [&] {
    master::BindOutcome old = master::bind_listeners(config);
    REQUIRE(old.status.ok());
    CHECK(old.listeners.for_exec().front().unlink);
    int fd = dup(old.listeners.all().front().fd);
    old.listeners.keep_files();
    old.listeners.close_all();
    CHECK(exists(path));
    return std::vector<master::InheritedFd>{{fd, false, false, true}};
  };
  {
    master::BindOutcome unpromoted = master::bind_listeners(config, hand_over());
    REQUIRE(unpromoted.status.ok());
    CHECK(unpromoted.listeners.all().front().url() == "unix:" + path);
    CHECK_FALSE(unpromoted.listeners.for_exec().front().unlink);
    unpromoted.listeners.close_all();
    CHECK(exists(path));
  }
  master::BindOutcome promoted = master::bind_listeners(config, hand_over());
  REQUIRE(promoted.status.ok());
  promoted.listeners.take_over_files();
  CHECK(promoted.listeners.for_exec().front().unlink);
  promoted.listeners.close_all();
  CHECK_FALSE(exists(path));
  rmdir(dir.c_str());
}

TEST_CASE("the files kept for a new master that exits unpromoted are removed by the old one") {
  std::string dir = temp_dir();
  std::string created = dir + "/created.sock";
  std::string inherited = dir + "/inherited.sock";
  config::Config config;
  config.binds = {unix_socket(inherited)};
  master::BindOutcome first = master::bind_listeners(config);
  REQUIRE(first.status.ok());
  std::vector<master::InheritedFd> from_first = {
      {dup(first.listeners.all().front().fd), false, false, true}};
  first.listeners.keep_files();
  first.listeners.close_all();
  // This master created one file and inherited the other from a master still running.
  master::BindOutcome old = master::bind_listeners(config, from_first);
  REQUIRE(old.status.ok());
  config.binds = {unix_socket(created)};
  master::BindOutcome own = master::bind_listeners(config);
  REQUIRE(own.status.ok());
  master::Listeners listeners = std::move(old.listeners);
  for (const master::Listener& listener : own.listeners.all()) {
    master::Listener copy = listener;
    copy.fd = dup(listener.fd);
    listeners.add(copy);
  }
  own.listeners.keep_files();
  own.listeners.close_all();
  // Stopped while its new master runs, the old master leaves the files; the new master exits.
  listeners.keep_files();
  listeners.close_all();
  CHECK(exists(created));
  CHECK(exists(inherited));
  listeners.remove_kept_files();
  CHECK_FALSE(exists(created));
  CHECK(exists(inherited));
  unlink(inherited.c_str());
  rmdir(dir.c_str());
}
