#include "master/pidfile.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

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

Status Pidfile::rename_to(const std::string& path) {
  if (::rename(path_.c_str(), path.c_str()) != 0)
    return Status::error("pidfile " + path_ + " to " + path + ": " + std::strerror(errno));
  path_ = path;
  return {};
}

Pidfile::Pidfile(Pidfile&& other) noexcept
    : path_(std::exchange(other.path_, {})), owner_(std::exchange(other.owner_, 0)) {}

Pidfile& Pidfile::operator=(Pidfile&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    owner_ = std::exchange(other.owner_, 0);
  }
  return *this;
}

Pidfile::~Pidfile() {
  remove();
}

void Pidfile::remove() {
  if (!path_.empty() && owner_ == getpid()) ::unlink(path_.c_str());
}

}  // namespace prefork::master
