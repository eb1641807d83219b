#include "net/tls/engine.hpp"

#include <openssl/err.h>

#include "net/tls/client_context.hpp"

namespace prefork::net::tls {

Engine::Engine(SSL* session, std::string peer)
    : session_(session),
      input_(BIO_new(BIO_s_mem())),
      output_(BIO_new(BIO_s_mem())),
      peer_(std::move(peer)) {
  // An empty memory BIO says "retry", not end of file: more input may come.
  BIO_set_mem_eof_return(input_, -1);
  SSL_set_bio(session_, input_, output_);
}

Engine::~Engine() {
  SSL_free(session_);
}

Status Engine::failure(const char* doing, int result) {
  int error = SSL_get_error(session_, result);
  if (error == SSL_ERROR_ZERO_RETURN) return Status::error(peer_ + " closed the TLS session");
  return Status::error(std::string(doing) + " with " + peer_ + " failed: " + last_error(session_));
}

Result<bool> Engine::handshake() {
  if (handshaken_) return true;
  ERR_clear_error();
  int result = SSL_do_handshake(session_);
  if (result == 1) {
    handshaken_ = true;
    return true;
  }
  if (SSL_get_error(session_, result) == SSL_ERROR_WANT_READ) return false;
  return failure("TLS handshake", result);
}

void Engine::feed(std::string_view ciphertext) {
  BIO_write(input_, ciphertext.data(), int(ciphertext.size()));
}

bool Engine::has_output() const {
  return BIO_ctrl_pending(output_) > 0;
}

std::string Engine::take_output() {
  std::string bytes(BIO_ctrl_pending(output_), '\0');
  if (bytes.empty()) return bytes;
  int got = BIO_read(output_, bytes.data(), int(bytes.size()));
  bytes.resize(got > 0 ? std::size_t(got) : 0);
  return bytes;
}

Status Engine::write(std::string_view plaintext) {
  ERR_clear_error();
  while (!plaintext.empty()) {
    std::size_t written = 0;
    int result = SSL_write_ex(session_, plaintext.data(), plaintext.size(), &written);
    if (result != 1) return failure("TLS write", result);
    plaintext.remove_prefix(written);
  }
  return {};
}

Result<std::string> Engine::read() {
  ERR_clear_error();
  std::string plaintext;
  char buffer[16 * 1024];
  for (;;) {
    std::size_t got = 0;
    int result = SSL_read_ex(session_, buffer, sizeof buffer, &got);
    if (result == 1) {
      plaintext.append(buffer, got);
      continue;
    }
    int error = SSL_get_error(session_, result);
    if (error == SSL_ERROR_WANT_READ) return plaintext;
    // What was decrypted before the close or the error is still the caller's.
    if (!plaintext.empty()) return plaintext;
    return failure("TLS read", result);
  }
}

}  // namespace prefork::net::tls
