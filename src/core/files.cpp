#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace prefork {

UniqueFd open_append(const char* path) {
  return UniqueFd(::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
}

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(std::size_t(written));
  }
  return 0;
}

}  // namespace prefork
