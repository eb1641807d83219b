// Not libsystemd: the protocol is one datagram per message (gunicorn sends it the same way),
// a static build gains no dependency, and libsystemd's extras (vsock, the fd store) are not
// needed.
#include "master/notify.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/unique_fd.hpp"

namespace prefork::master {
namespace {

constexpr std::int64_t status_interval_ms = 1000;

std::string take_variable(const char* name) {
  const char* value = std::getenv(name);
  std::string text = value ? value : "";
  unsetenv(name);
  return text;
}

bool parse_unsigned(const std::string& text, std::uint64_t& value) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoull(text.c_str(), &end, 10);
  return *end == '\0' && errno == 0;
}

// sd_watchdog_enabled(3): the watchdog is this process's when WATCHDOG_PID is unset or names it.
std::uint64_t own_watchdog_usec(const std::string& usec_text, const std::string& pid_text) {
  std::uint64_t usec = 0, pid = 0;
  if (!parse_unsigned(usec_text, usec)) return 0;
  if (!pid_text.empty() && (!parse_unsigned(pid_text, pid) || pid != std::uint64_t(getpid())))
    return 0;
  return usec;
}

std::string worker_count(int workers) {
  return std::to_string(workers) + (workers == 1 ? " worker" : " workers");
}

// A STATUS value is one line: a newline would start another KEY=VALUE.
std::string one_line(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

}  // namespace

Result<NotifyAddress> parse_notify_address(std::string_view text) {
  NotifyAddress notify;
  notify.address.sun_family = AF_UNIX;
  std::size_t path_size = sizeof notify.address.sun_path;
  if (text.substr(0, 6) == "vsock:") return Status::error("vsock addresses are not supported");
  if (text.empty() || (text[0] != '/' && text[0] != '@'))
    return Status::error("expected an absolute path or @name (an abstract socket)");
  if (text[0] == '/') {
    if (text.size() >= path_size) return Status::error("the path is too long");
    text.copy(notify.address.sun_path, text.size());
    notify.length = socklen_t(offsetof(sockaddr_un, sun_path) + text.size() + 1);
    return notify;
  }
  // An abstract name: a leading NUL instead of '@', and no NUL after it, since every byte of
  // the given length is the name.
  if (text.size() > path_size) return Status::error("the name is too long");
  text.substr(1).copy(notify.address.sun_path + 1, text.size() - 1);
  notify.length = socklen_t(offsetof(sockaddr_un, sun_path) + text.size());
  return notify;
}

Notifier Notifier::from_environment() {
  Notifier notifier;
  std::string socket = take_variable("NOTIFY_SOCKET");
  std::string usec = take_variable("WATCHDOG_USEC");
  std::string pid = take_variable("WATCHDOG_PID");
  if (socket.empty()) return notifier;
  Result<NotifyAddress> address = parse_notify_address(socket);
  if (!address) {
    log::warning("NOTIFY_SOCKET=", socket, ": ", address.message(), "; systemd is not notified");
    return notifier;
  }
  notifier.socket_ = socket;
  notifier.address_ = *address;
  notifier.watchdog_usec_ = own_watchdog_usec(usec, pid);
  log::debug("systemd notifications to ", socket, ", watchdog ",
             notifier.watchdog_usec_ ? std::to_string(notifier.watchdog_usec_) + " us" : "off");
  return notifier;
}

std::uint64_t Notifier::watchdog_interval_ms() const {
  if (watchdog_usec_ == 0) return 0;
  // At least 1 ms: a timer of 0 would never repeat.
  return std::max<std::uint64_t>(watchdog_usec_ / 2000, 1);
}

void Notifier::ready(int workers) {
  awaiting_ready_ = false;
  send_status("READY=1\n", workers);
}

void Notifier::reloading() {
  awaiting_ready_ = true;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\n");
}

void Notifier::reload_failed(std::string_view reason) {
  awaiting_ready_ = false;
  send("READY=1\nSTATUS=reload failed: " + one_line(reason) + "\n");
}

void Notifier::workers_changed(int workers) {
  if (awaiting_ready_ || stopping_ || workers == reported_workers_) return;
  if (monotonic_ms() - reported_at_ms_ < status_interval_ms) return;
  send_status("", workers);
}

void Notifier::stopping() {
  if (stopping_) return;
  stopping_ = true;
  send("STOPPING=1\n");
}

void Notifier::watchdog() const {
  send("WATCHDOG=1\n");
}

void Notifier::hand_over(pid_t pid) {
  if (handed_over_) return;
  send("MAINPID=" + std::to_string(pid) + "\n");
  handed_over_ = true;
}

void Notifier::take_back(int workers) {
  if (!handed_over_) return;
  handed_over_ = false;
  std::string main_pid = "MAINPID=" + std::to_string(getpid()) + "\n";
  if (stopping_) {
    send(main_pid + "STOPPING=1\n");
    return;
  }
  // A reload begun meanwhile told systemd nothing (no RELOADING=1): it ends with no READY=1.
  awaiting_ready_ = false;
  send_status(main_pid + "READY=1\n", workers);
}

void Notifier::send_status(std::string message, int workers) {
  reported_workers_ = workers;
  reported_at_ms_ = monotonic_ms();
  send(message + "STATUS=" + worker_count(workers) + "\n");
}

// A socket per message, closed at once: no descriptor for a worker to inherit. Non-blocking,
// so a full or gone receiver costs a debug line, never the loop.
void Notifier::send(const std::string& message) const {
  if (address_.length == 0 || handed_over_) return;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    log::debug("NOTIFY_SOCKET: socket: ", std::strerror(errno));
    return;
  }
  if (sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&address_.address), address_.length) < 0) {
    log::debug("NOTIFY_SOCKET ", socket_, ": ", std::strerror(errno));
  }
}

}  // namespace prefork::master
