#include "net/blocking_socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.hpp"
#include "core/fork_gate.hpp"

namespace prefork::net {

void BlockingSocket::close() {
  tls_.reset();
  plaintext_.clear();
  fd_.reset();
}

Status BlockingSocket::fail(Failure failure, std::string message) {
  failure_ = failure;
  close();
  return Status::error(std::move(message));
}

Status BlockingSocket::wait(short events, std::int64_t deadline_ms) {
  for (;;) {
    std::int64_t left = deadline_ms - monotonic_ms();
    if (left <= 0) return fail(Failure::timeout, "timed out");
    pollfd watched{fd_.get(), events, 0};
    int ready;
    {
      fork_gate::OpenWhileWaiting open;
      ready = ::poll(&watched, 1, int(left));
    }
    if (ready > 0) return {};
    if (ready < 0 && errno != EINTR) return fail(Failure::refused, std::strerror(errno));
  }
}

Status BlockingSocket::connect_one(const void* address, unsigned length, int family,
                                   std::int64_t deadline) {
  fd_.reset(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return fail(Failure::refused, std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_.get(), static_cast<const sockaddr*>(address), length) != 0) {
    if (errno != EINPROGRESS) return fail(Failure::refused, std::strerror(errno));
    if (Status ready = wait(POLLOUT, deadline); !ready.ok()) return ready;
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) return fail(Failure::refused, std::strerror(error));
  }
  // Commands are small and each waits for its reply: Nagle would only add latency.
  int on = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return {};
}

Status BlockingSocket::connect(const std::string& host, int port, std::int64_t timeout_ms) {
  std::int64_t deadline = monotonic_ms() + timeout_ms;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int error = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0)
    return fail(Failure::refused, std::string("cannot resolve: ") + gai_strerror(error));
  Status status = Status::error("no address");
  for (addrinfo* address = found; address; address = address->ai_next) {
    status = connect_one(address->ai_addr, address->ai_addrlen, address->ai_family, deadline);
    if (status.ok() || failure_ == Failure::timeout) break;
  }
  ::freeaddrinfo(found);
  if (status.ok()) failure_ = Failure::none;
  return status;
}

Status BlockingSocket::start_tls(SSL* session, const std::string& peer, std::int64_t deadline_ms) {
  tls_ = std::make_unique<tls::Engine>(session, peer);
  for (;;) {
    Result<bool> done = tls_->handshake();
    if (Status sent = send_all(tls_->take_output(), deadline_ms); !sent.ok()) return sent;
    if (!done) return fail(Failure::refused, done.message());
    if (*done) return {};
    char buffer[16 * 1024];
    Result<std::size_t> got = receive_some(buffer, sizeof buffer, deadline_ms);
    if (!got) return got.status();
    tls_->feed(std::string_view(buffer, *got));
  }
}

Status BlockingSocket::write_all(std::string_view bytes, std::int64_t deadline_ms) {
  if (!tls_) return send_all(bytes, deadline_ms);
  if (Status written = tls_->write(bytes); !written.ok())
    return fail(Failure::refused, written.message());
  return send_all(tls_->take_output(), deadline_ms);
}

Result<std::size_t> BlockingSocket::read_some(char* buffer, std::size_t size,
                                              std::int64_t deadline_ms) {
  if (!tls_) return receive_some(buffer, size, deadline_ms);
  return read_plaintext(buffer, size, deadline_ms);
}

// Ciphertext is read until a whole record decrypts; what does not fit in buffer waits in
// plaintext_ for the next call.
Result<std::size_t> BlockingSocket::read_plaintext(char* buffer, std::size_t size,
                                                   std::int64_t deadline_ms) {
  while (plaintext_.empty()) {
    char ciphertext[16 * 1024];
    Result<std::size_t> got = receive_some(ciphertext, sizeof ciphertext, deadline_ms);
    if (!got) return got.status();
    tls_->feed(std::string_view(ciphertext, *got));
    Result<std::string> plaintext = tls_->read();
    if (tls_->has_output()) {
      if (Status sent = send_all(tls_->take_output(), deadline_ms); !sent.ok()) return sent;
    }
    if (!plaintext) return fail(Failure::refused, plaintext.message());
    plaintext_ = std::move(*plaintext);
  }
  std::size_t taken = std::min(size, plaintext_.size());
  plaintext_.copy(buffer, taken);
  plaintext_.erase(0, taken);
  return taken;
}

Status BlockingSocket::send_all(std::string_view bytes, std::int64_t deadline_ms) {
  while (!bytes.empty()) {
    if (!fd_) return fail(Failure::refused, "not connected");
    ssize_t written = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written > 0) {
      bytes.remove_prefix(std::size_t(written));
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status ready = wait(POLLOUT, deadline_ms); !ready.ok()) return ready;
      continue;
    }
    return fail(Failure::refused, std::strerror(errno));
  }
  return {};
}

Result<std::size_t> BlockingSocket::receive_some(char* buffer, std::size_t size,
                                                 std::int64_t deadline_ms) {
  for (;;) {
    if (!fd_) return fail(Failure::refused, "not connected");
    ssize_t got = ::recv(fd_.get(), buffer, size, 0);
    if (got > 0) return std::size_t(got);
    if (got == 0) return fail(Failure::refused, "connection closed by the server");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return fail(Failure::refused, std::strerror(errno));
    if (Status ready = wait(POLLIN, deadline_ms); !ready.ok()) return ready;
  }
}

}  // namespace prefork::net
