// The listening sockets, bound once by the master and inherited by every worker.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace prefork::master {

struct Listener {
  int fd = -1;
  config::Bind::Kind kind = config::Bind::Kind::tcp;
  sockaddr_storage address{};  // tcp: the bound address with the real port
  socklen_t address_size = 0;
  std::string unix_path;         // unix sockets
  bool remove_on_close = false;  // a unix socket file this master created
  // tcp with reuse_port: fd is bound but not listening; each worker opens its own socket.
  bool per_worker = false;
  bool tls = false;  // speaks TLS with the app context (TlsContexts::app)

  // "http://127.0.0.1:8000", "https://[::1]:8443" or "unix:/path", as gunicorn logs it.
  std::string url() const;
};

class Listeners {
 public:
  Listeners() = default;
  ~Listeners();
  Listeners(Listeners&& other) noexcept;
  Listeners& operator=(Listeners&& other) noexcept;
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  const std::vector<Listener>& all() const { return listeners_; }
  void add(Listener listener);
  // Closes the sockets and removes the unix socket files this process created.
  void close_all();

 private:
  std::vector<Listener> listeners_;
  pid_t owner_ = 0;
};

struct BindOutcome {
  Listeners listeners;
  Status status;
};

// Binds config.binds, or takes the sockets systemd passed (LISTEN_FDS/LISTEN_PID).
BindOutcome bind_listeners(const config::Config& config);

// Listeners passed by systemd socket activation; empty when there are none for this process.
// Clears LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES so that they are not taken twice.
std::vector<int> take_systemd_fds();

// For reuse_port: a worker's own SO_REUSEPORT socket listening on the listener's address.
Result<UniqueFd> open_reuse_port_socket(const Listener& listener, int backlog);

}  // namespace prefork::master
