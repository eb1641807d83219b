#include "core/log.hpp"

#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace prefork::log {
namespace {

// Plain values only: the log is used from signal-free code in master and workers alike.
struct State {
  Level level = Level::info;
  int fd = STDERR_FILENO;
  char path[4096] = "";
};
State state;

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "DEBUG";
    case Level::info:
      return "INFO";
    case Level::warning:
      return "WARNING";
    case Level::error:
      return "ERROR";
    case Level::critical:
      return "CRITICAL";
  }
  return "INFO";
}

}  // namespace

bool parse_level(std::string_view name, Level& level) {
  static constexpr std::pair<std::string_view, Level> names[] = {{"debug", Level::debug},
                                                                 {"info", Level::info},
                                                                 {"warning", Level::warning},
                                                                 {"error", Level::error},
                                                                 {"critical", Level::critical}};
  for (const auto& [text, value] : names) {
    if (text == name) {
      level = value;
      return true;
    }
  }
  return false;
}

void set_level(Level level) {
  state.level = level;
}

bool enabled(Level level) {
  return level >= state.level;
}

bool open(const std::string& path) {
  if (path.empty() || path == "-") {
    if (state.fd != STDERR_FILENO) ::close(state.fd);
    state.fd = STDERR_FILENO;
    state.path[0] = '\0';
    return true;
  }
  if (path.size() >= sizeof state.path) return false;
  int fd = open_append(path.c_str()).release();
  if (fd < 0) return false;
  if (state.fd != STDERR_FILENO) ::close(state.fd);
  state.fd = fd;
  path.copy(state.path, path.size());
  state.path[path.size()] = '\0';
  return true;
}

void reopen() {
  if (state.path[0] == '\0') return;
  UniqueFd fd = open_append(state.path);
  if (fd) ::dup2(fd.get(), state.fd);
}

void write(Level level, std::string_view message) {
  char stamp[64];
  time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S %z", &local);
  char head[128];
  int head_size = snprintf(head, sizeof head, "[%s] [%d] [%s] ", stamp, static_cast<int>(getpid()),
                           level_name(level));
  std::string line;
  line.reserve(head_size + message.size() + 1);
  line.append(head, head_size).append(message).push_back('\n');
  // One write per line keeps lines from several processes whole (O_APPEND).
  [[maybe_unused]] ssize_t written = ::write(state.fd, line.data(), line.size());
}

}  // namespace prefork::log
