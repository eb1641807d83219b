// One TLS client session over memory BIOs: the caller moves ciphertext between the engine and
// its socket, whatever kind of socket that is (a libuv stream, a blocking one). So the TLS
// logic exists once, and no OpenSSL call ever touches a descriptor or blocks.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace prefork::net::tls {

class Engine {
 public:
  // Takes ownership of session (ClientContext::new_session); peer names it in errors.
  Engine(SSL* session, std::string peer);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Advances the handshake: true once done, false while it needs more input (after sending
  // take_output()), an error when it failed.
  Result<bool> handshake();
  bool handshaken() const { return handshaken_; }

  // Ciphertext that arrived from the peer.
  void feed(std::string_view ciphertext);
  // Ciphertext to send to the peer: handshake messages, records of write(), alerts.
  std::string take_output();
  bool has_output() const;

  // Encrypts plaintext into the output (memory BIOs never make a write wait).
  Status write(std::string_view plaintext);
  // Decrypts what the input holds; "" when a record is still incomplete. An error when the
  // peer closed (close_notify) or sent something bad.
  Result<std::string> read();

 private:
  Status failure(const char* doing, int result);

  SSL* session_;
  BIO* input_;   // owned by session_
  BIO* output_;  // owned by session_
  std::string peer_;
  bool handshaken_ = false;
};

}  // namespace prefork::net::tls
