// What a master started by USR2 takes over from the master that started it, through its
// environment: the listening sockets (PREFORK_FDS=3:tls,4,5:reuseport,6:unlink, one entry per
// listener, fd numbers unchanged by exec), the old master's pid (PREFORK_MASTER_PID), the pipe
// on which it reports that its workers serve (PREFORK_READY_FD) and the metrics endpoint's
// socket (PREFORK_METRICS_FD).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace prefork::master {

inline constexpr const char* inherited_fds_variable = "PREFORK_FDS";
inline constexpr const char* master_pid_variable = "PREFORK_MASTER_PID";
inline constexpr const char* ready_fd_variable = "PREFORK_READY_FD";
inline constexpr const char* metrics_fd_variable = "PREFORK_METRICS_FD";

struct InheritedFd {
  int fd = -1;
  bool tls = false;         // Listener::tls
  bool reuse_port = false;  // Listener::per_worker: bound, not listening
  bool unlink = false;      // a unix socket file the masters remove once the last one stops

  bool operator==(const InheritedFd&) const = default;
};

struct Inheritance {
  std::vector<InheritedFd> listeners;
  pid_t master_pid = 0;  // 0: started by hand, not by USR2
  int ready_fd = -1;
  int metrics_fd = -1;

  bool from_upgrade() const { return master_pid != 0; }
};

std::string encode_inherited_fds(const std::vector<InheritedFd>& fds);
Result<std::vector<InheritedFd>> parse_inherited_fds(std::string_view text);

// Reads the four variables and removes them from the environment, so that neither the workers
// nor a later USR2 see them. Empty (from_upgrade() false) when PREFORK_FDS is not set.
Result<Inheritance> take_inheritance();

}  // namespace prefork::master
