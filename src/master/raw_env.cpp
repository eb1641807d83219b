#include "master/raw_env.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/fork_gate.hpp"
#include "core/log.hpp"

namespace prefork::master {

// The master's pool threads read the environment while they run (getaddrinfo, OpenSSL), and
// setenv may move it: it changes only while the fork gate keeps them out.
void RawEnvironment::apply(const std::vector<std::string>& entries) {
  if (entries == entries_) return;
  fork_gate::close_for_fork();
  replace(entries);
  fork_gate::open_after_fork();
  entries_ = entries;
}

void RawEnvironment::replace(const std::vector<std::string>& entries) {
  for (const auto& [key, before] : replaced_) {
    if (before) {
      ::setenv(key.c_str(), before->c_str(), 1);
    } else {
      ::unsetenv(key.c_str());
    }
  }
  replaced_.clear();
  for (const std::string& entry : entries) {
    std::size_t equals = entry.find('=');
    std::string key = entry.substr(0, equals);
    if (!replaced_.count(key)) {
      const char* before = std::getenv(key.c_str());
      replaced_[key] = before ? std::optional<std::string>(before) : std::nullopt;
    }
    if (::setenv(key.c_str(), entry.c_str() + equals + 1, 1) != 0)
      log::warning("raw_env ", key, ": cannot set: ", std::strerror(errno));
  }
}

}  // namespace prefork::master
