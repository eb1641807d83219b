#include "master/inherited_fds.hpp"

#include <charconv>
#include <cstdlib>

namespace prefork::master {
namespace {

bool parse_number(std::string_view text, long& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value >= 0;
}

Status set_flag(std::string_view flag, InheritedFd& fd) {
  if (flag == "tls") {
    fd.tls = true;
  } else if (flag == "reuseport") {
    fd.reuse_port = true;
  } else if (flag == "unlink") {
    fd.unlink = true;
  } else {
    return Status::error("unknown flag \"" + std::string(flag) + "\"");
  }
  return {};
}

Result<InheritedFd> parse_entry(std::string_view entry) {
  InheritedFd fd;
  std::string_view number = entry.substr(0, entry.find(':'));
  long value = 0;
  if (!parse_number(number, value) || value > 1 << 20)
    return Result<InheritedFd>::error("\"" + std::string(entry) + "\": not a descriptor");
  fd.fd = int(value);
  entry.remove_prefix(std::min(entry.size(), number.size() + 1));
  while (!entry.empty()) {
    std::string_view flag = entry.substr(0, entry.find(':'));
    if (Status set = set_flag(flag, fd); !set) return set;
    entry.remove_prefix(std::min(entry.size(), flag.size() + 1));
  }
  return fd;
}

// A descriptor number from the environment; -1 when the variable is not set.
Result<int> take_fd_variable(const char* name) {
  const char* text = std::getenv(name);
  long value = -1;
  bool valid = !text || parse_number(text, value);
  std::string shown = text ? text : "";
  unsetenv(name);
  if (!valid) return Result<int>::error(std::string(name) + "=" + shown + ": not a descriptor");
  return int(value);
}

}  // namespace

std::string encode_inherited_fds(const std::vector<InheritedFd>& fds) {
  std::string text;
  for (const InheritedFd& fd : fds) {
    if (!text.empty()) text += ',';
    text += std::to_string(fd.fd);
    if (fd.tls) text += ":tls";
    if (fd.reuse_port) text += ":reuseport";
    if (fd.unlink) text += ":unlink";
  }
  return text;
}

Result<std::vector<InheritedFd>> parse_inherited_fds(std::string_view text) {
  std::vector<InheritedFd> fds;
  while (!text.empty()) {
    std::string_view entry = text.substr(0, text.find(','));
    Result<InheritedFd> fd = parse_entry(entry);
    if (!fd)
      return Result<std::vector<InheritedFd>>::error(std::string(inherited_fds_variable) + ": " +
                                                     fd.message());
    fds.push_back(*fd);
    text.remove_prefix(std::min(text.size(), entry.size() + 1));
  }
  return fds;
}

Result<Inheritance> take_inheritance() {
  Inheritance inheritance;
  const char* fds_text = std::getenv(inherited_fds_variable);
  const char* pid_text = std::getenv(master_pid_variable);
  bool upgrade = fds_text != nullptr;
  Result<std::vector<InheritedFd>> fds = parse_inherited_fds(fds_text ? fds_text : "");
  long pid = 0;
  bool pid_valid = pid_text && parse_number(pid_text, pid) && pid > 0;
  unsetenv(inherited_fds_variable);
  unsetenv(master_pid_variable);
  Result<int> ready = take_fd_variable(ready_fd_variable);
  Result<int> metrics = take_fd_variable(metrics_fd_variable);
  if (!upgrade) return inheritance;
  if (!fds) return fds.status();
  if (!pid_valid)
    return Result<Inheritance>::error(std::string(master_pid_variable) +
                                      ": not set to a pid beside " + inherited_fds_variable);
  if (!ready) return ready.status();
  if (!metrics) return metrics.status();
  inheritance.listeners = std::move(*fds);
  inheritance.master_pid = pid_t(pid);
  inheritance.ready_fd = *ready;
  inheritance.metrics_fd = *metrics;
  return inheritance;
}

}  // namespace prefork::master
