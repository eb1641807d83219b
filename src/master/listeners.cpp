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

Status system_error(const std::string& what) {
  return Status::error(what + ": " + std::strerror(errno));
}

void set_flag(int fd, int level, int option) {
  int on = 1;
  setsockopt(fd, level, option, &on, sizeof on);
}

void make_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Status resolve_tcp(const config::Bind& bind, sockaddr_storage& address, socklen_t& size) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(bind.port);
  const char* host = bind.host.empty() ? nullptr : bind.host.c_str();
  int status = getaddrinfo(host, port.c_str(), &hints, &found);
  if (status != 0) return Status::error("bind " + bind.text + ": " + gai_strerror(status));
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  size = found->ai_addrlen;
  freeaddrinfo(found);
  return {};
}

bool is_any_ipv6(const sockaddr_storage& address) {
  if (address.ss_family != AF_INET6) return false;
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  return IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr);
}

// Socket options shared by the master's socket and the workers' reuse_port sockets.
Result<UniqueFd> open_tcp_socket(const sockaddr_storage& address, bool reuse_port) {
  UniqueFd fd(socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return system_error("socket");
  set_flag(fd.get(), SOL_SOCKET, SO_REUSEADDR);
  if (reuse_port) set_flag(fd.get(), SOL_SOCKET, SO_REUSEPORT);
  // Like gunicorn: "::" means IPv6 only, so that "0.0.0.0" can be bound next to it.
  if (is_any_ipv6(address)) set_flag(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY);
  return fd;
}

Status bind_tcp(const config::Bind& bind, const config::Config& config, Listener& listener) {
  if (Status resolved = resolve_tcp(bind, listener.address, listener.address_size); !resolved)
    return resolved;
  listener.kind = config::Bind::Kind::tcp;
  listener.per_worker = config.reuse_port;
  Result<UniqueFd> socket = open_tcp_socket(listener.address, config.reuse_port);
  if (!socket) return socket.status();
  int fd = listener.fd = socket->release();
  if (::bind(fd, reinterpret_cast<sockaddr*>(&listener.address), listener.address_size) != 0) {
    return system_error("bind " + bind.text);
  }
  // Learn the real port when 0 was asked for.
  getsockname(fd, reinterpret_cast<sockaddr*>(&listener.address), &listener.address_size);
  // With reuse_port the master only holds the port: a listening socket of its own would take
  // a share of the connections that no worker accepts.
  if (!config.reuse_port && listen(fd, config.backlog) != 0) {
    return system_error("listen " + bind.text);
  }
  make_nonblocking(fd);
  return {};
}

Status remove_stale_unix_socket(const std::string& path) {
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) return {};
  if (!S_ISSOCK(info.st_mode)) {
    return Status::error("bind unix:" + path + ": exists and is not a socket");
  }
  ::unlink(path.c_str());
  return {};
}

Status bind_unix(const config::Bind& bind, const config::Config& config, Listener& listener) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (bind.path.empty() || bind.path.size() >= sizeof address.sun_path) {
    return Status::error("bind " + bind.text + ": the path is empty or too long");
  }
  if (Status removed = remove_stale_unix_socket(bind.path); !removed) return removed;
  bind.path.copy(address.sun_path, bind.path.size());
  listener.kind = config::Bind::Kind::unix_socket;
  listener.unix_path = bind.path;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return system_error("socket");
  listener.fd = fd;
  mode_t old_umask = ::umask(mode_t(config.umask));
  int status = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old_umask);
  if (status != 0) return system_error("bind " + bind.text);
  listener.remove_on_close = true;
  if (listen(fd, config.backlog) != 0) return system_error("listen " + bind.text);
  make_nonblocking(fd);
  return {};
}

// The socket's address, and whether it is TCP or unix; name says which fd in an error.
Status take_socket(int fd, const std::string& name, Listener& listener) {
  listener.address_size = sizeof listener.address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&listener.address), &listener.address_size) !=
      0) {
    return system_error(name + " is not a socket");
  }
  listener.fd = fd;
  if (listener.address.ss_family == AF_UNIX) {
    listener.kind = config::Bind::Kind::unix_socket;
    listener.unix_path = reinterpret_cast<sockaddr_un&>(listener.address).sun_path;
  } else {
    listener.kind = config::Bind::Kind::tcp;
  }
  return {};
}

Status adopt_fd(int fd, const config::Config& config, Listener& listener) {
  std::string name = "fd://" + std::to_string(fd);
  if (Status taken = take_socket(fd, name, listener); !taken.ok()) return taken;
  // Inherited sockets may be bound but not yet listening; listen() on a listening socket only
  // updates its backlog.
  if (listen(fd, config.backlog) != 0) return system_error("listen " + name);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  make_nonblocking(fd);
  return {};
}

// A socket of the master that ran USR2, as that master used it: a reuse_port placeholder stays
// bound and not listening, or this master would take connections no worker accepts.
Status adopt_inherited(const InheritedFd& inherited, const config::Config& config,
                       Listener& listener) {
  listener.tls = inherited.tls;
  listener.per_worker = inherited.reuse_port;
  listener.remove_once_promoted = inherited.unlink;
  int fd = inherited.fd;
  std::string name = "inherited fd " + std::to_string(fd);
  if (Status taken = take_socket(fd, name, listener); !taken.ok()) return taken;
  if (!listener.per_worker && listen(fd, config.backlog) != 0)
    return system_error("listen " + name);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  make_nonblocking(fd);
  return {};
}

}  // namespace

std::string Listener::url() const {
  if (kind == config::Bind::Kind::unix_socket) return "unix:" + unix_path;
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  std::string scheme = tls ? "https://" : "http://";
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
    port = ntohs(v6.sin6_port);
    return scheme + "[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
  port = ntohs(v4.sin_port);
  return scheme + std::string(host) + ":" + std::to_string(port);
}

Listeners::~Listeners() {
  close_all();
}

void Listeners::add(Listener listener) {
  owner_ = getpid();
  listeners_.push_back(std::move(listener));
}

Listeners::Listeners(Listeners&& other) noexcept
    : listeners_(std::move(other.listeners_)),
      owner_(std::exchange(other.owner_, 0)),
      kept_files_(std::move(other.kept_files_)) {
  other.listeners_.clear();
  other.kept_files_.clear();
}

Listeners& Listeners::operator=(Listeners&& other) noexcept {
  if (this != &other) {
    close_all();
    listeners_ = std::move(other.listeners_);
    other.listeners_.clear();
    owner_ = std::exchange(other.owner_, 0);
    kept_files_ = std::move(other.kept_files_);
    other.kept_files_.clear();
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

void Listeners::keep_files() {
  for (Listener& listener : listeners_) {
    if (listener.remove_on_close && owner_ == getpid()) kept_files_.push_back(listener.unix_path);
    listener.remove_on_close = false;
  }
}

void Listeners::remove_kept_files() {
  for (const std::string& path : kept_files_) ::unlink(path.c_str());
  kept_files_.clear();
}

void Listeners::take_over_files() {
  for (Listener& listener : listeners_) {
    if (listener.remove_once_promoted) listener.remove_on_close = true;
  }
}

std::vector<InheritedFd> Listeners::for_exec() const {
  std::vector<InheritedFd> fds;
  for (const Listener& listener : listeners_)
    fds.push_back({listener.fd, listener.tls, listener.per_worker, listener.remove_on_close});
  return fds;
}

namespace {

Status bind_one(const config::Bind& bind, const config::Config& config, Listener& listener) {
  switch (bind.kind) {
    case config::Bind::Kind::tcp:
      return bind_tcp(bind, config, listener);
    case config::Bind::Kind::unix_socket:
      return bind_unix(bind, config, listener);
    case config::Bind::Kind::fd:
      return adopt_fd(bind.fd, config, listener);
  }
  return Status::error("bind " + bind.text + ": unknown kind");
}

}  // namespace

BindOutcome bind_listeners(const config::Config& config,
                           const std::vector<InheritedFd>& inherited) {
  BindOutcome outcome;
  auto keep = [&](Listener& listener, Status status) {
    // A half-made listener is still closed (and its socket file removed) by close_all().
    if (listener.fd >= 0) outcome.listeners.add(listener);
    outcome.status = std::move(status);
    return outcome.status.ok();
  };
  for (const InheritedFd& fd : inherited) {
    Listener listener;
    if (!keep(listener, adopt_inherited(fd, config, listener))) return outcome;
  }
  if (!inherited.empty()) return outcome;
  std::vector<int> systemd_fds = take_systemd_fds();
  for (int fd : systemd_fds) {
    // systemd's sockets replace the binds: TLS when certfile alone says so (README, "HTTPS").
    Listener listener;
    listener.tls = config.tls.every_listener;
    if (!keep(listener, adopt_fd(fd, config, listener))) return outcome;
  }
  if (!systemd_fds.empty()) return outcome;
  for (const config::Bind& bind : config.binds) {
    Listener listener;
    listener.tls = bind.tls;
    if (!keep(listener, bind_one(bind, config, listener))) return outcome;
  }
  return outcome;
}

Result<UniqueFd> open_reuse_port_socket(const Listener& listener, int backlog) {
  Result<UniqueFd> fd = open_tcp_socket(listener.address, true);
  if (!fd) return fd;
  if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&listener.address),
             listener.address_size) != 0 ||
      listen(fd->get(), backlog) != 0) {
    return system_error("reuse_port socket for " + listener.url());
  }
  make_nonblocking(fd->get());
  return fd;
}

}  // namespace prefork::master
