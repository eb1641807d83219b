#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace prefork::e2e {
namespace {

std::string proc_path(pid_t pid, const char* entry) {
  return "/proc/" + std::to_string(pid) + "/" + entry;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval value{};
  value.tv_sec = timeout.count() / 1000;
  value.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);
}

Reply exchange(int fd, std::string_view method, std::string_view target, std::string_view body,
               std::string_view headers = {}) {
  Reply reply;
  std::string request = std::string(method) + " " + std::string(target) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  request += headers;
  if (!body.empty() || method == "POST")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n";
  request += body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return reply;
    sent += std::size_t(n);
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) return reply;  // timeout or reset: not a whole response
    if (n == 0) break;
    response.append(buffer, std::size_t(n));
  }
  auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.compare(0, 9, "HTTP/1.1 ") != 0) return reply;
  reply.head = response.substr(0, head_end);
  reply.body = response.substr(head_end + 4);
  reply.status = std::atoi(response.c_str() + 9);
  auto length_at = reply.head.find("Content-Length: ");
  if (length_at == std::string::npos) length_at = reply.head.find("content-length: ");
  reply.ok = length_at == std::string::npos ||
             std::size_t(std::atol(reply.head.c_str() + length_at + 16)) == reply.body.size();
  return reply;
}

}  // namespace

std::string built_path(const char* variable) {
  const char* value = std::getenv(variable);
  if (!value || !*value) throw std::runtime_error(std::string(variable) + " is not set");
  return value;
}

Server::Server(const std::string& binary, const std::vector<std::string>& args,
               const std::vector<std::string>& env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    dup2(pipe_fds[1], STDOUT_FILENO);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    for (const std::string& entry : env) putenv(const_cast<char*>(entry.c_str()));
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  ::close(pipe_fds[1]);
  log_fd_ = pipe_fds[0];
  reader_ = std::thread([this] { read_log(); });
}

namespace {

// A master killed (by the test, or by SIGKILL in a test) cannot remove the private metrics
// directory it made; its log names it ("Metrics: storage file in DIR (private, removed on exit)").
void remove_private_metrics_dir(const std::string& log) {
  const std::string marker = "Metrics: storage file in ";
  std::size_t start = log.find(marker);
  if (start == std::string::npos) return;
  start += marker.size();
  std::size_t end = log.find_first_of(" \n", start);
  if (end == std::string::npos || log.compare(end, 9, " (private") != 0) return;
  std::error_code ignored;
  std::filesystem::remove_all(log.substr(start, end - start), ignored);
}

}  // namespace

Server::~Server() {
  if (!exited_) {
    std::vector<pid_t> children = workers();
    kill(pid_, SIGKILL);
    for (pid_t child : children) kill(child, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  stop_reading_ = true;
  reader_.join();
  ::close(log_fd_);
  remove_private_metrics_dir(log_);
}

void Server::read_log() {
  char buffer[4096];
  while (!stop_reading_) {
    pollfd ready{log_fd_, POLLIN, 0};
    if (poll(&ready, 1, 50) <= 0) continue;
    {
      std::lock_guard lock(mutex_);
      reading_ = true;
    }
    ssize_t n = ::read(log_fd_, buffer, sizeof buffer);
    std::lock_guard lock(mutex_);
    reading_ = false;
    if (n <= 0) {
      log_ended_ = true;
      return;
    }
    log_.append(buffer, std::size_t(n));
    changed_.notify_all();
  }
}

// Everything written to the pipe so far is in log_: the reader holds no bytes it has not
// appended, and the pipe holds none (or every writer has closed it).
bool Server::log_caught_up() {
  std::lock_guard lock(mutex_);
  int unread = 0;
  return log_ended_ || (!reading_ && ioctl(log_fd_, FIONREAD, &unread) == 0 && unread == 0);
}

std::size_t Server::count_lines(std::string_view text) {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (auto at = log_.find(text); at != std::string::npos; at = log_.find(text, at + text.size()))
    ++count;
  return count;
}

bool Server::wait_for_lines(std::string_view text, std::size_t count,
                            std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (count_lines(text) < count) {
    std::unique_lock lock(mutex_);
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      lock.unlock();
      return count_lines(text) >= count;
    }
  }
  return true;
}

std::optional<std::string> Server::wait_for_line(std::string_view text,
                                                 std::chrono::milliseconds timeout) {
  if (!wait_for_lines(text, 1, timeout)) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto at = log_.find(text);
  auto start = log_.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  return log_.substr(start, log_.find('\n', at) - start);
}

std::string Server::log() {
  std::lock_guard lock(mutex_);
  return log_;
}

int Server::port(std::chrono::milliseconds timeout) {
  return port_of("Listening at: http", timeout);
}

int Server::port_of(std::string_view start, std::chrono::milliseconds timeout) {
  auto line = wait_for_line(start, timeout);
  if (!line) return 0;
  // "Listening at: http://HOST:PORT (PID)"; HOST may be "[::1]".
  auto address_end = line->find(' ', line->find("://"));
  auto port_at = line->rfind(':', address_end);
  return std::atoi(line->c_str() + port_at + 1);
}

std::vector<pid_t> Server::workers() const {
  return children_of(pid_);
}

bool Server::wait_for_worker_count(std::size_t count, std::chrono::milliseconds timeout) {
  return eventually([&] { return workers().size() == count; }, timeout);
}

pid_t Server::kill_a_worker_and_await_its_replacement(std::chrono::milliseconds timeout) {
  std::vector<pid_t> before = workers();
  if (before.empty() || kill(before.front(), SIGKILL) != 0) return 0;
  bool replaced = eventually(
      [&] {
        std::vector<pid_t> now = workers();
        return now.size() == before.size() &&
               std::find(now.begin(), now.end(), before.front()) == now.end();
      },
      timeout);
  return replaced ? before.front() : 0;
}

void Server::signal(int signum) const {
  if (!exited_) kill(pid_, signum);
}

std::optional<int> Server::wait_exit(std::chrono::milliseconds timeout) {
  bool done = eventually(
      [&] {
        if (exited_) return true;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      },
      timeout);
  if (!done) return std::nullopt;
  // What the master wrote before it exited is read before the caller looks at the log.
  eventually([&] { return log_caught_up(); }, 2s);
  return exit_code_;
}

namespace {

int connect_loopback(int port, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(std::uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  set_timeouts(fd, timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  ::close(fd);
  return -1;
}

}  // namespace

std::string read_whole(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

Reply http_request(int port, std::string_view method, std::string_view target,
                   std::string_view body, std::chrono::milliseconds timeout) {
  int fd = connect_loopback(port, timeout);
  if (fd < 0) return {};
  Reply reply = exchange(fd, method, target, body);
  ::close(fd);
  return reply;
}

Reply http_get_with_headers(int port, std::string_view target, std::string_view headers) {
  int fd = connect_loopback(port, 10s);
  if (fd < 0) return {};
  Reply reply = exchange(fd, "GET", target, {}, headers);
  ::close(fd);
  return reply;
}

Reply http_get_unix(const std::string& path, std::string_view target) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  set_timeouts(fd, 10s);
  Reply reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
    reply = exchange(fd, "GET", target, {});
  ::close(fd);
  return reply;
}

std::string raw_exchange(int port, std::string_view bytes) {
  int fd = connect_loopback(port, 5s);
  std::string received;
  if (fd < 0) return received;
  if (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size())) {
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) received.append(buffer, n);
  }
  ::close(fd);
  return received;
}

Client::Client(int port, std::chrono::milliseconds timeout)
    : fd_(connect_loopback(port, timeout)) {}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::send_get(std::string_view target) {
  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  return fd_ >= 0 &&
         ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size());
}

Reply Client::read_reply() {
  Reply reply;
  char buffer[16384];
  auto receive = [&] {
    ssize_t n = fd_ >= 0 ? ::recv(fd_, buffer, sizeof buffer, 0) : -1;
    if (n > 0) pending_.append(buffer, std::size_t(n));
    return n > 0;
  };
  std::size_t head_end;
  while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!receive()) return reply;
  }
  if (pending_.compare(0, 9, "HTTP/1.1 ") != 0) return reply;
  reply.head = pending_.substr(0, head_end);
  reply.status = std::atoi(pending_.c_str() + 9);
  auto length_at = reply.head.find("Content-Length: ");
  std::size_t length = length_at == std::string::npos
                           ? 0
                           : std::size_t(std::atol(reply.head.c_str() + length_at + 16));
  while (pending_.size() < head_end + 4 + length) {
    if (!receive()) return reply;
  }
  reply.body = pending_.substr(head_end + 4, length);
  pending_.erase(0, head_end + 4 + length);
  reply.ok = true;
  return reply;
}

bool Client::closed_by_server() {
  char byte;
  ssize_t n = fd_ >= 0 ? ::recv(fd_, &byte, 1, 0) : 0;
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int connect_error(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(std::uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int error = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

long current_syscall(pid_t pid) {
  std::string text = read_whole(proc_path(pid, "syscall"));
  if (text.empty() || text.compare(0, 7, "running") == 0) return -1;
  return std::atol(text.c_str());
}

bool sleeping_in_handler(pid_t pid) {
  long call = current_syscall(pid);
  return call == SYS_nanosleep || call == SYS_clock_nanosleep;
}

bool thread_sleeping_in_handler(pid_t pid) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (!dir) return false;
  bool sleeping = false;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::string text = read_whole(tasks + "/" + entry->d_name + "/syscall");
    long call = text.empty() || text.compare(0, 7, "running") == 0 ? -1 : std::atol(text.c_str());
    if (call == 35 || call == 230) sleeping = true;
  }
  closedir(dir);
  return sleeping;
}

std::optional<ProcessStat> process_stat(pid_t pid) {
  std::string text = read_whole(proc_path(pid, "stat"));
  // "pid (comm) S ppid pgrp session tty_nr ..." where comm may itself contain spaces and
  // parentheses.
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  ProcessStat stat;
  pid_t group = 0;
  rest >> stat.state >> stat.parent >> group >> stat.session >> stat.terminal;
  if (!rest) return std::nullopt;
  return stat;
}

std::string status_field(pid_t pid, std::string_view name) {
  std::string status = "\n" + read_whole(proc_path(pid, "status"));
  std::string key = "\n" + std::string(name) + ":";
  auto at = status.find(key);
  if (at == std::string::npos) return {};
  at = status.find_first_not_of(" \t", at + key.size());
  if (at == std::string::npos) return {};
  return status.substr(at, status.find('\n', at) - at);
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (!proc) return children;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::optional<ProcessStat> stat = process_stat(pid);
    if (stat && stat->parent == parent && stat->state != 'Z' && stat->state != 'X')
      children.push_back(pid);
  }
  closedir(proc);
  return children;
}

std::string process_cmdline(pid_t pid) {
  return read_whole(proc_path(pid, "cmdline"));
}

bool process_alive(pid_t pid) {
  char state = process_state(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

char process_state(pid_t pid) {
  std::optional<ProcessStat> stat = process_stat(pid);
  return stat ? stat->state : 0;
}

bool NotifyMessage::has(std::string_view line) const {
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view current = rest.substr(0, rest.find('\n'));
    if (current == line) return true;
    rest.remove_prefix(std::min(rest.size(), current.size() + 1));
  }
  return false;
}

std::optional<std::string> NotifyMessage::value(std::string_view key) const {
  std::string prefix = std::string(key) + "=";
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, prefix.size(), prefix) == 0)
      return text.substr(at + prefix.size(), end - at - prefix.size());
    at = end + 1;
  }
  return std::nullopt;
}

NotifySocket::NotifySocket(std::string address) : address_(std::move(address)) {
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int on = 1;
  if (fd_ < 0 || setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
    throw std::runtime_error("notify socket: " + std::string(std::strerror(errno)));
  sockaddr_un bound{};
  bound.sun_family = AF_UNIX;
  address_.copy(bound.sun_path, sizeof bound.sun_path - 1);
  auto length = socklen_t(offsetof(sockaddr_un, sun_path) + address_.size());
  if (address_[0] == '@') {
    bound.sun_path[0] = '\0';
  } else {
    ++length;
  }
  if (bind(fd_, reinterpret_cast<sockaddr*>(&bound), length) != 0)
    throw std::runtime_error("bind " + address_ + ": " + std::strerror(errno));
}

NotifySocket::~NotifySocket() {
  ::close(fd_);
  if (address_[0] != '@') ::unlink(address_.c_str());
}

std::optional<NotifyMessage> NotifySocket::next(std::chrono::milliseconds timeout) {
  pollfd ready{fd_, POLLIN, 0};
  if (poll(&ready, 1, int(timeout.count())) <= 0) return std::nullopt;
  char buffer[4096];
  iovec data{buffer, sizeof buffer};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  msghdr header{};
  header.msg_iov = &data;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd_, &header, MSG_CMSG_CLOEXEC);
  if (n < 0) return std::nullopt;
  NotifyMessage message;
  message.text.assign(buffer, std::size_t(n));
  for (cmsghdr* item = CMSG_FIRSTHDR(&header); item; item = CMSG_NXTHDR(&header, item)) {
    if (item->cmsg_level == SOL_SOCKET && item->cmsg_type == SCM_CREDENTIALS) {
      ucred credentials;
      std::memcpy(&credentials, CMSG_DATA(item), sizeof credentials);
      message.pid = credentials.pid;
    }
  }
  received_.push_back(message);
  return message;
}

std::optional<NotifyMessage> NotifySocket::wait_for(std::string_view line,
                                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    std::optional<NotifyMessage> message = next(left);
    if (!message) return std::nullopt;
    if (message->has(line)) return message;
  }
}

std::uint64_t monotonic_usec() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::uint64_t(now.tv_sec) * 1000000 + std::uint64_t(now.tv_nsec) / 1000;
}

std::size_t open_fd_count(pid_t pid) {
  return fd_targets(pid).size();
}

long rss_kib(pid_t pid) {
  return std::atol(status_field(pid, "VmRSS").c_str());
}

bool maps_contain(pid_t pid, const std::string& path) {
  return read_whole(proc_path(pid, "maps")).find(path) != std::string::npos;
}

pid_t parent_pid(pid_t pid) {
  std::optional<ProcessStat> stat = process_stat(pid);
  return stat ? stat->parent : 0;
}

pid_t read_pidfile(const std::string& path) {
  return pid_t(std::atol(read_whole(path).c_str()));
}

bool path_exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

std::map<int, std::string> fd_targets(pid_t pid) {
  std::map<int, std::string> fds;
  std::string directory = proc_path(pid, "fd");
  DIR* dir = opendir(directory.c_str());
  if (!dir) return fds;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[PATH_MAX];
    ssize_t size = readlink((directory + "/" + entry->d_name).c_str(), target, sizeof target);
    if (size > 0) fds[std::atoi(entry->d_name)] = std::string(target, std::size_t(size));
  }
  closedir(dir);
  return fds;
}

std::optional<bool> same_open_file(pid_t a, int fd_a, pid_t b, int fd_b) {
  long order = syscall(SYS_kcmp, a, b, KCMP_FILE, fd_a, fd_b);
  if (order < 0) return std::nullopt;
  return order == 0;
}

Adopted::~Adopted() {
  // Reaped by its old master already, the pid may be another process's by now.
  pid_t parent = parent_pid(pid_);
  if (reaped_ || (parent != getpid() && parent != old_master_)) return;
  std::vector<pid_t> children = children_of(pid_);
  kill(pid_, SIGKILL);
  for (pid_t child : children) kill(child, SIGKILL);
  waitpid(pid_, nullptr, 0);
  // Orphaned by the kill, the children are the test's now (it is their subreaper).
  for (pid_t child : children) waitpid(child, nullptr, 0);
}

std::optional<int> Adopted::stop(int signum, std::chrono::milliseconds timeout) {
  if (reaped_) return std::nullopt;
  kill(pid_, signum);
  int status = 0;
  if (!eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout))
    return std::nullopt;
  reaped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TempDir::TempDir() {
  char pattern[] = "/tmp/prefork-e2e-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool Load::answers_more(long more, std::chrono::milliseconds timeout) const {
  long target = answered() + more;
  return eventually([&] { return answered() >= target; }, timeout);
}

std::string TempDir::write(std::string_view name, std::string_view content) const {
  std::string path = file(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace prefork::e2e
