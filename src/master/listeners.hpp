// The listening sockets, bound once by the master and inherited by every worker.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "master/inherited_fds.hpp"

namespace prefork::master {

struct Listener {
  int fd = -1;
  config::Bind::Kind kind = config::Bind::Kind::tcp;
  sockaddr_storage address{};  // tcp: the bound address with the real port
  socklen_t address_size = 0;
  std::string unix_path;         // unix sockets
  bool remove_on_close = false;  // a unix socket file this master created
  // Inherited from the master that ran USR2, which created the file: ours to remove only once
  // that master is gone (Listeners::take_over_files).
  bool remove_once_promoted = false;
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
  // A new master serves on the same sockets: close_all leaves their files to it.
  void keep_files();
  // That new master exited before it was promoted: the files keep_files left are removed.
  void remove_kept_files();
  // The master that handed these sockets over is gone: their files are now this one's.
  void take_over_files();
  // The sockets as PREFORK_FDS lists them for a new master.
  std::vector<InheritedFd> for_exec() const;

 private:
  std::vector<Listener> listeners_;
  pid_t owner_ = 0;
  std::vector<std::string> kept_files_;  // by keep_files, for remove_kept_files
};

struct BindOutcome {
  Listeners listeners;
  Status status;
};

// Takes the sockets of the master that ran USR2 (inherited: PREFORK_FDS), else those systemd
// passed (LISTEN_FDS/LISTEN_PID), else binds config.binds.
BindOutcome bind_listeners(const config::Config& config,
                           const std::vector<InheritedFd>& inherited = {});

// Listeners passed by systemd socket activation; empty when there are none for this process.
// Clears LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES so that they are not taken twice.
std::vector<int> take_systemd_fds();

// For reuse_port: a worker's own SO_REUSEPORT socket listening on the listener's address.
Result<UniqueFd> open_reuse_port_socket(const Listener& listener, int backlog);

}  // namespace prefork::master
