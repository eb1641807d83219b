// user/group/umask: resolved in the master, applied in each worker after fork (the master keeps
// its rights so that it can bind again on reload).
#pragma once

#include <sys/types.h>

#include <string>

#include "config/config.hpp"

namespace prefork::master {

struct Identity {
  bool change_user = false;
  bool change_group = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_name;
};

// Looks up names or numeric ids. Returns an error message or "".
std::string resolve_identity(const config::Config& config, Identity& identity);

// In a freshly forked worker. Returns an error message or "".
std::string drop_privileges(const Identity& identity);

}  // namespace prefork::master
