// user/group/umask: resolved in the master, applied in each worker after fork (the master keeps
// its rights so that it can bind again on reload).
#pragma once

#include <sys/types.h>

#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace prefork::master {

struct Identity {
  bool change_user = false;
  bool change_group = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_name;
};

// Looks up names or numeric ids.
Result<Identity> resolve_identity(const config::Config& config);

// In a freshly forked worker.
Status drop_privileges(const Identity& identity);

}  // namespace prefork::master
