#include "master/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace prefork::master {
namespace {

bool parse_id(const std::string& text, unsigned& id) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<Identity> resolve_identity(const config::Config& config) {
  Identity identity;
  if (!config.user.empty()) {
    const passwd* entry = nullptr;
    unsigned id = 0;
    entry = parse_id(config.user, id) ? getpwuid(id) : getpwnam(config.user.c_str());
    if (!entry) return Status::error("user \"" + config.user + "\": no such user");
    identity.change_user = true;
    identity.uid = entry->pw_uid;
    identity.gid = entry->pw_gid;
    identity.user_name = entry->pw_name;
  }
  if (!config.group.empty()) {
    const group* entry = nullptr;
    unsigned id = 0;
    entry = parse_id(config.group, id) ? getgrgid(id) : getgrnam(config.group.c_str());
    if (!entry) return Status::error("group \"" + config.group + "\": no such group");
    identity.change_group = true;
    identity.gid = entry->gr_gid;
  }
  return identity;
}

Status drop_privileges(const Identity& identity) {
  if (identity.change_group || identity.change_user) {
    if (identity.change_user) {
      if (initgroups(identity.user_name.c_str(), identity.gid) != 0)
        return Status::error(std::string("initgroups: ") + std::strerror(errno));
    } else if (setgroups(0, nullptr) != 0 && errno != EPERM) {
      return Status::error(std::string("setgroups: ") + std::strerror(errno));
    }
    if (setgid(identity.gid) != 0)
      return Status::error(std::string("setgid: ") + std::strerror(errno));
  }
  if (identity.change_user && setuid(identity.uid) != 0)
    return Status::error(std::string("setuid: ") + std::strerror(errno));
  return {};
}

}  // namespace prefork::master
