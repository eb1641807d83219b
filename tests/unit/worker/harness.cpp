#include "tests/unit/worker/harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "worker/run.hpp"

namespace prefork::testing {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int listen_on_free_port(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1:0");
  }
  port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equal_ignoring_case(key, name)) return value;
  }
  return std::nullopt;
}

RawClient::RawClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(std::uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() {
  if (fd_ >= 0) close(fd_);
}

void RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) throw std::runtime_error("send failed");
    bytes.remove_prefix(std::size_t(sent));
  }
}

bool RawClient::send_within(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready = {fd_, POLLOUT, 0};
    int events = poll(&ready, 1, int(left.count()));
    if (events < 0 && errno == EINTR) continue;
    if (events <= 0) return false;
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(std::size_t(sent));
  }
  return true;
}

bool RawClient::receive(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready = {fd_, POLLIN, 0};
    int events = poll(&ready, 1, int(left.count()));
    if (events < 0 && errno == EINTR) continue;
    if (events <= 0) return false;
    char chunk[16384];
    ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    pending_.append(chunk, std::size_t(got));
    return true;
  }
}

std::optional<HttpResponse> take_response(std::string& pending, bool head_request) {
  std::size_t head_end = pending.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  std::string_view head(pending.data(), head_end);
  std::size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  std::size_t length = 0;
  bool bodyless =
      head_request || response.status < 200 || response.status == 204 || response.status == 304;
  if (auto declared = response.header("Content-Length"); declared && !bodyless) {
    length = std::size_t(std::stoul(*declared));
  }
  std::size_t body_start = head_end + 4;
  if (pending.size() < body_start + length) return std::nullopt;
  response.body = pending.substr(body_start, length);
  pending.erase(0, body_start + length);
  return response;
}

std::optional<HttpResponse> RawClient::read_response(bool head_request,
                                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<HttpResponse> response;
  while (!(response = take_response(pending_, head_request))) {
    if (!receive(deadline)) return std::nullopt;
  }
  return response;
}

bool RawClient::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready = {fd_, POLLIN, 0};
    if (poll(&ready, 1, int(left.count())) <= 0) return false;
    char chunk[4096];
    ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return true;
  }
}

bool RawClient::silent_for(std::chrono::milliseconds quiet) {
  if (!pending_.empty()) return false;
  pollfd ready = {fd_, POLLIN, 0};
  return poll(&ready, 1, int(quiet.count())) == 0;
}

WorkerProcess::WorkerProcess(const config::Config& config, AppFactory factory,
                             const MetricsPlace& metrics,
                             std::shared_ptr<const net::tls::ServerContext> tls) {
  int fd = listen_on_free_port(port_);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    worker::Boot boot;
    boot.config = &config;
    boot.listeners = {{fd, tls}};
    boot.id = 1;
    boot.position = metrics.position;
    boot.heartbeat = heartbeat_.get();
    boot.factory = factory;
    boot.metrics_dir = metrics.directory;
    boot.metrics_slot_fd = metrics.slot_fd;
    _exit(worker::run(boot));
  }
  close(fd);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!heartbeat_.get()->booted.load()) {
    if (std::chrono::steady_clock::now() > deadline) break;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
      break;
    }
    std::this_thread::sleep_for(2ms);
  }
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool WorkerProcess::wait_requests(std::uint64_t count, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (heartbeat_.get()->requests.load() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::optional<int> WorkerProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (!reaped_ && waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
      return exit_code_;
    }
    if (reaped_) return exit_code_;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

std::optional<int> WorkerProcess::stop_gracefully(std::chrono::milliseconds timeout) {
  kill(pid_, SIGTERM);
  return wait_exit(timeout);
}

config::Config test_config() {
  config::Config config;
  config.loglevel = "warning";
  config.keepalive = 5;
  config.timeout = 30;
  return config;
}

}  // namespace prefork::testing
