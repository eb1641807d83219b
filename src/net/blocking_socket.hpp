// A TCP client socket used as a blocking stream with deadlines, plain or TLS (start_tls, through
// tls::Engine): non-blocking underneath, each wait a poll() bounded by the caller's deadline. Waits
// open the fork gate (core/fork_gate.hpp): the master may fork while one of its pool threads waits
// here for a slow or frozen server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <memory>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "net/tls/engine.hpp"

namespace prefork::net {

class BlockingSocket {
 public:
  enum class Failure { none, refused, timeout };

  BlockingSocket() = default;

  // Resolves host and connects to the first address that answers within timeout_ms.
  Status connect(const std::string& host, int port, std::int64_t timeout_ms);
  bool is_open() const { return bool(fd_); }
  void close();
  int fd() const { return fd_.get(); }

  // Runs a TLS handshake (session from tls::ClientContext, owned from here on) by deadline_ms;
  // from then on write_all and read_some carry plaintext.
  Status start_tls(SSL* session, const std::string& peer, std::int64_t deadline_ms);

  // Writes all of bytes by deadline_ms (now_ms() time).
  Status write_all(std::string_view bytes, std::int64_t deadline_ms);
  // Reads what is there (at least one byte) into buffer by deadline_ms; 0 bytes read means the
  // peer closed (an error Status).
  Result<std::size_t> read_some(char* buffer, std::size_t size, std::int64_t deadline_ms);

  // Why the last error Status came: a timeout or a refused/broken connection.
  Failure last_failure() const { return failure_; }

 private:
  Status wait(short events, std::int64_t deadline_ms);
  Status send_all(std::string_view bytes, std::int64_t deadline_ms);
  Result<std::size_t> receive_some(char* buffer, std::size_t size, std::int64_t deadline_ms);
  Result<std::size_t> read_plaintext(char* buffer, std::size_t size, std::int64_t deadline_ms);
  Status fail(Failure failure, std::string message);
  Status connect_one(const void* address, unsigned length, int family, std::int64_t deadline);

  UniqueFd fd_;
  std::unique_ptr<tls::Engine> tls_;  // null for plain TCP
  std::string plaintext_;             // decrypted, not read yet
  Failure failure_ = Failure::none;
};

}  // namespace prefork::net
