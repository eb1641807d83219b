// One TLS server session of an accepted connection. The caller owns the socket and the buffers:
// ciphertext read from the socket is lent with feed() (OpenSSL reads it in place through a span
// BIO, no copy into a memory BIO), plaintext is decrypted straight into the caller's buffer, and
// everything OpenSSL wants to send (handshake flights, records, alerts) is appended to the
// caller's `wire` string. No call touches a descriptor, blocks or throws.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/tls/span_bio.hpp"

namespace prefork::net::tls {

// Why a session failed, as the `reason` label of the handshake error counter: a fixed set.
enum class Failure : std::uint8_t {
  none,
  timeout,      // the handshake did not finish within header_timeout (set by the caller)
  protocol,     // not TLS, a version or cipher below the floor, no common ALPN, renegotiation…
  certificate,  // a client certificate was required and missing, or did not verify
  alert,        // the peer sent a fatal alert
  eof,          // the peer closed in the middle of the handshake
};
std::string_view failure_name(Failure failure);

class ServerSession {
 public:
  enum class Progress { done, want_more, failed };
  enum class Read { data, want_more, closed, failed };

  // Takes ownership of session (ServerContext::new_session).
  explicit ServerSession(SSL* session);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Lends ciphertext that arrived from the peer. OpenSSL reads it in place until keep_unread(),
  // which must be called before that memory is reused; bytes kept earlier are read first.
  void feed(const char* data, std::size_t size);
  void keep_unread();

  // Advances the handshake. Its flights (and, when it fails, the alert) go to wire.
  Progress handshake(std::string& wire);
  bool handshaken() const { return handshaken_; }
  // Some ciphertext arrived: a connection that never sent a byte (a port check) is no
  // handshake error.
  bool started() const { return started_; }

  // Decrypts at most room bytes into dst; got is how many. want_more: nothing more can be
  // decrypted from what was fed. closed: the peer sent close_notify. Alerts go to wire (OpenSSL
  // 3.0 answers a KeyUpdate later, ahead of the next write()).
  Read read(char* dst, std::size_t room, std::size_t& got, std::string& wire);
  // Encrypts plaintext into records appended to wire. False when the session has failed.
  bool write(std::string_view plaintext, std::string& wire);
  // close_notify, appended to wire (best effort).
  void shutdown(std::string& wire);

  // Frees OpenSSL's record buffers while the connection is idle; false when it holds data.
  bool release_buffers();

  // The verified client certificate's subject (RFC 2253, "CN=client,O=Example"); "" when the
  // client sent none or it did not verify. Known once the handshake is done.
  std::string_view client_subject() const { return subject_; }
  Failure failure() const { return failure_; }
  // The OpenSSL reason of the failure, for a debug log line.
  const std::string& failure_reason() const { return failure_reason_; }

 private:
  // Takes the failure's kind and reason from OpenSSL's error queue.
  void record_failure();
  static void on_info(const SSL* session, int where, int value);

  SSL* session_;
  SpanInput input_;  // the span BIO's state (span_bio.hpp), so that the BIO owns no memory
  std::string subject_;
  std::string failure_reason_;
  Failure failure_ = Failure::none;
  bool handshaken_ = false;
  bool started_ = false;
};

}  // namespace prefork::net::tls
