#include "core/log.hpp"

#include "core/files.hpp"
#include "core/json_text.hpp"
#include "core/wall_time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <utility>

namespace prefork::log {
namespace {

// Plain values only: the log is used from signal-free code in master and workers alike.
struct State {
  Level level = Level::info;
  Format format = Format::text;
  int fd = STDERR_FILENO;
  char path[4096] = "";
};
State state;

// gunicorn's level names, as loglevel takes them and JSON lines print them.
constexpr std::pair<std::string_view, Level> level_names[] = {{"debug", Level::debug},
                                                              {"info", Level::info},
                                                              {"warning", Level::warning},
                                                              {"error", Level::error},
                                                              {"critical", Level::critical}};

std::string_view lower_name(Level level) {
  for (const auto& [text, value] : level_names) {
    if (value == level) return text;
  }
  return "info";
}

const char* upper_name(Level level) {
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

void append_text_line(std::string& line, Level level, std::string_view message) {
  char stamp[64];
  time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S %z", &local);
  char head[128];
  int head_size = snprintf(head, sizeof head, "[%s] [%d] [%s] ", stamp, static_cast<int>(getpid()),
                           upper_name(level));
  line.append(head, head_size).append(message);
}

// The keys are the ones most log shippers pick up unconfigured: Vector's, Logstash's and ECS's
// "message", the "time" of Docker's json-file driver and of slog, logrus and pino, pino's
// "pid"; "logger" names the log as gunicorn's Python loggers are named.
void append_json_line(std::string& line, Level level, std::string_view message) {
  line.append("{\"time\":\"");
  // A clock of its own: lines may come from several threads, and the error log is not busy.
  Rfc3339Clock().append_now(line);
  line.append("\",\"level\":\"").append(lower_name(level));
  line.append("\",\"logger\":\"prefork.error\",\"pid\":").append(std::to_string(getpid()));
  line.append(",\"message\":");
  append_json_string(line, message);
  line.push_back('}');
}

}  // namespace

bool parse_level(std::string_view name, Level& level) {
  for (const auto& [text, value] : level_names) {
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

bool parse_format(std::string_view name, Format& format) {
  if (name == "text") {
    format = Format::text;
  } else if (name == "json") {
    format = Format::json;
  } else {
    return false;
  }
  return true;
}

void set_format(Format format) {
  state.format = format;
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
  std::string line;
  line.reserve(message.size() + 128);
  if (state.format == Format::json) {
    append_json_line(line, level, message);
  } else {
    append_text_line(line, level, message);
  }
  line.push_back('\n');
  // One write per line keeps lines from several processes whole (O_APPEND).
  [[maybe_unused]] ssize_t written = ::write(state.fd, line.data(), line.size());
}

}  // namespace prefork::log
