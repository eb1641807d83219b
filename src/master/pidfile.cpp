#include "master/pidfile.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace prefork::master {

Status Pidfile::create(const std::string& path) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("pidfile " + path + ": " + std::strerror(errno));
  std::string text = std::to_string(getpid()) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  int saved_errno = errno;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    if (written) saved_errno = errno;
    ::unlink(temporary.c_str());
    return Status::error("pidfile " + path + ": " + std::strerror(saved_errno));
  }
  path_ = path;
  owner_ = getpid();
  return {};
}

Pidfile::~Pidfile() {
  if (!path_.empty() && owner_ == getpid()) ::unlink(path_.c_str());
}

}  // namespace prefork::master
