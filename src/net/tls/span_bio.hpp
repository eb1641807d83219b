// The BIO a ServerSession puts under its SSL, for both directions. Reading serves ciphertext
// the caller lent (no copy into a memory BIO) after any bytes kept from an earlier loan;
// writing appends to the caller's wire string. The state lives in a SpanInput the session owns,
// so the BIO itself owns no memory and an idle connection costs none here.
#pragma once

#include <openssl/bio.h>

#include <cstddef>
#include <string>

namespace prefork::net::tls {

class SpanInput {
 public:
  // Lends size bytes at data; they are read in place until keep_unread().
  void lend(const char* data, std::size_t size);
  // Copies what is still unread of the loan, so that its memory may be reused.
  void keep_unread();
  // Ciphertext neither OpenSSL nor anything else has read yet.
  std::size_t unread() const { return kept_.size() - kept_read_ + span_size_; }
  // Frees the kept storage when everything in it was read; false when some was not.
  bool release();

  // Where writes go during one SSL call (null otherwise: a write then fails).
  void write_to(std::string* wire) { wire_ = wire; }

  // Called by the BIO.
  std::size_t read(char* out, std::size_t size);
  bool write(const char* data, std::size_t size);

 private:
  const char* span_ = nullptr;
  std::size_t span_size_ = 0;
  std::string kept_;
  std::size_t kept_read_ = 0;  // how much of kept_ OpenSSL has read
  std::string* wire_ = nullptr;
};

// A BIO over input (which must outlive it); null when OpenSSL cannot make one.
BIO* new_span_bio(SpanInput& input);

}  // namespace prefork::net::tls
