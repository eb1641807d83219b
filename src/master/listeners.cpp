#include "master/listeners.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace prefork::master {
namespace {

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void set_flag(int fd, int level, int option) {
  int on = 1;
  setsockopt(fd, level, option, &on, sizeof on);
}

void make_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

bool resolve_tcp(const config::Bind& bind, sockaddr_storage& address, socklen_t& size,
                 std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(bind.port);
  const char* host = bind.host.empty() ? nullptr : bind.host.c_str();
  int status = getaddrinfo(host, port.c_str(), &hints, &found);
  if (status != 0) {
    error = "bind " + bind.text + ": " + gai_strerror(status);
    return false;
  }
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  size = found->ai_addrlen;
  freeaddrinfo(found);
  return true;
}

bool is_any_ipv6(const sockaddr_storage& address) {
  if (address.ss_family != AF_INET6) return false;
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  return IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr);
}

// Socket options shared by the master's socket and the workers' reuse_port sockets.
int open_tcp_socket(const sockaddr_storage& address, bool reuse_port, std::string& error) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = system_error("socket");
    return -1;
  }
  set_flag(fd, SOL_SOCKET, SO_REUSEADDR);
  if (reuse_port) set_flag(fd, SOL_SOCKET, SO_REUSEPORT);
  // Like gunicorn: "::" means IPv6 only, so that "0.0.0.0" can be bound next to it.
  if (is_any_ipv6(address)) set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY);
  return fd;
}

bool bind_tcp(const config::Bind& bind, const config::Config& config, Listener& listener,
              std::string& error) {
  if (!resolve_tcp(bind, listener.address, listener.address_size, error)) return false;
  listener.kind = config::Bind::Kind::tcp;
  listener.per_worker = config.reuse_port;
  int fd = open_tcp_socket(listener.address, config.reuse_port, error);
  if (fd < 0) return false;
  listener.fd = fd;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&listener.address), listener.address_size) != 0) {
    error = system_error("bind " + bind.text);
    return false;
  }
  // Learn the real port when 0 was asked for.
  getsockname(fd, reinterpret_cast<sockaddr*>(&listener.address), &listener.address_size);
  // With reuse_port the master only holds the port: a listening socket of its own would take
  // a share of the connections that no worker accepts.
  if (!config.reuse_port && listen(fd, config.backlog) != 0) {
    error = system_error("listen " + bind.text);
    return false;
  }
  make_nonblocking(fd);
  return true;
}

bool remove_stale_unix_socket(const std::string& path, std::string& error) {
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) return true;
  if (!S_ISSOCK(info.st_mode)) {
    error = "bind unix:" + path + ": exists and is not a socket";
    return false;
  }
  ::unlink(path.c_str());
  return true;
}

bool bind_unix(const config::Bind& bind, const config::Config& config, Listener& listener,
               std::string& error) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (bind.path.empty() || bind.path.size() >= sizeof address.sun_path) {
    error = "bind " + bind.text + ": the path is empty or too long";
    return false;
  }
  if (!remove_stale_unix_socket(bind.path, error)) return false;
  bind.path.copy(address.sun_path, bind.path.size());
  listener.kind = config::Bind::Kind::unix_socket;
  listener.unix_path = bind.path;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = system_error("socket");
    return false;
  }
  listener.fd = fd;
  mode_t old_umask = ::umask(mode_t(config.umask));
  int status = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old_umask);
  if (status != 0) {
    error = system_error("bind " + bind.text);
    return false;
  }
  listener.remove_on_close = true;
  if (listen(fd, config.backlog) != 0) {
    error = system_error("listen " + bind.text);
    return false;
  }
  make_nonblocking(fd);
  return true;
}

bool adopt_fd(int fd, const config::Config& config, Listener& listener, std::string& error) {
  listener.address_size = sizeof listener.address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&listener.address), &listener.address_size) !=
      0) {
    error = system_error("fd://" + std::to_string(fd) + " is not a socket");
    return false;
  }
  listener.fd = fd;
  if (listener.address.ss_family == AF_UNIX) {
    listener.kind = config::Bind::Kind::unix_socket;
    listener.unix_path = reinterpret_cast<sockaddr_un&>(listener.address).sun_path;
  } else {
    listener.kind = config::Bind::Kind::tcp;
  }
  // Inherited sockets may be bound but not yet listening; listen() on a listening socket only
  // updates its backlog.
  if (listen(fd, config.backlog) != 0) {
    error = system_error("listen fd://" + std::to_string(fd));
    return false;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  make_nonblocking(fd);
  return true;
}

}  // namespace

std::string Listener::url() const {
  if (kind == config::Bind::Kind::unix_socket) return "unix:" + unix_path;
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
    port = ntohs(v6.sin6_port);
    return "http://[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
  port = ntohs(v4.sin_port);
  return "http://" + std::string(host) + ":" + std::to_string(port);
}

Listeners::~Listeners() {
  close_all();
}

void Listeners::add(Listener listener) {
  owner_ = getpid();
  listeners_.push_back(std::move(listener));
}

Listeners::Listeners(Listeners&& other) noexcept
    : listeners_(std::move(other.listeners_)), owner_(std::exchange(other.owner_, 0)) {
  other.listeners_.clear();
}

Listeners& Listeners::operator=(Listeners&& other) noexcept {
  if (this != &other) {
    close_all();
    listeners_ = std::move(other.listeners_);
    other.listeners_.clear();
    owner_ = std::exchange(other.owner_, 0);
  }
  return *this;
}

void Listeners::close_all() {
  for (Listener& listener : listeners_) {
    if (listener.fd >= 0) ::close(listener.fd);
    if (listener.remove_on_close && owner_ == getpid()) ::unlink(listener.unix_path.c_str());
  }
  listeners_.clear();
}

BindOutcome bind_listeners(const config::Config& config) {
  BindOutcome outcome;
  auto keep = [&](Listener& listener, bool ok) {
    // A half-made listener is still closed (and its socket file removed) by close_all().
    if (listener.fd >= 0) outcome.listeners.add(listener);
    return ok;
  };
  std::vector<int> systemd_fds = take_systemd_fds();
  for (int fd : systemd_fds) {
    Listener listener;
    if (!keep(listener, adopt_fd(fd, config, listener, outcome.error))) return outcome;
  }
  if (!systemd_fds.empty()) return outcome;
  for (const config::Bind& bind : config.binds) {
    Listener listener;
    bool ok = false;
    switch (bind.kind) {
      case config::Bind::Kind::tcp:
        ok = bind_tcp(bind, config, listener, outcome.error);
        break;
      case config::Bind::Kind::unix_socket:
        ok = bind_unix(bind, config, listener, outcome.error);
        break;
      case config::Bind::Kind::fd:
        ok = adopt_fd(bind.fd, config, listener, outcome.error);
        break;
    }
    if (!keep(listener, ok)) return outcome;
  }
  return outcome;
}

int open_reuse_port_socket(const Listener& listener, int backlog, std::string& error) {
  int fd = open_tcp_socket(listener.address, true, error);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&listener.address), listener.address_size) !=
          0 ||
      listen(fd, backlog) != 0) {
    error = system_error("reuse_port socket for " + listener.url());
    ::close(fd);
    return -1;
  }
  make_nonblocking(fd);
  return fd;
}

}  // namespace prefork::master
