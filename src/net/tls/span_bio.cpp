#include "net/tls/span_bio.hpp"

#include <algorithm>
#include <cstring>

namespace prefork::net::tls {
namespace {

SpanInput& input_of(BIO* bio) {
  return *static_cast<SpanInput*>(BIO_get_data(bio));
}

int read_ex(BIO* bio, char* out, std::size_t size, std::size_t* got) {
  BIO_clear_retry_flags(bio);
  *got = input_of(bio).read(out, size);
  if (*got > 0) return 1;
  // Nothing lent yet: more may come from the socket, which is not end of file.
  BIO_set_retry_read(bio);
  return 0;
}

int write_ex(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  if (!input_of(bio).write(data, size)) return 0;
  *written = size;
  return 1;
}

long control(BIO*, int command, long, void*) {
  // The handshake flushes its flights and fails unless the flush succeeds; writes land in the
  // wire string at once, so there is never anything to flush. Other commands (pending, eof,
  // kTLS) mean "no" here.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* make_method() {
  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "prefork-span");
  if (!method) return nullptr;
  BIO_meth_set_read_ex(method, read_ex);
  BIO_meth_set_write_ex(method, write_ex);
  BIO_meth_set_ctrl(method, control);
  return method;
}

}  // namespace

void SpanInput::lend(const char* data, std::size_t size) {
  span_ = data;
  span_size_ = size;
}

void SpanInput::keep_unread() {
  if (span_size_ > 0) {
    // Drop what was read first, so that kept_ only grows by what is really unread.
    kept_.erase(0, kept_read_);
    kept_read_ = 0;
    kept_.append(span_, span_size_);
  }
  span_ = nullptr;
  span_size_ = 0;
}

bool SpanInput::release() {
  if (unread() > 0) return false;
  std::string().swap(kept_);
  kept_read_ = 0;
  return true;
}

std::size_t SpanInput::read(char* out, std::size_t size) {
  if (kept_read_ < kept_.size()) {
    std::size_t n = std::min(size, kept_.size() - kept_read_);
    std::memcpy(out, kept_.data() + kept_read_, n);
    kept_read_ += n;
    if (kept_read_ == kept_.size()) {
      kept_.clear();  // keeps the capacity for the next keep_unread(); release() frees it
      kept_read_ = 0;
    }
    return n;
  }
  std::size_t n = std::min(size, span_size_);
  if (n > 0) std::memcpy(out, span_, n);
  span_ += n;
  span_size_ -= n;
  return n;
}

bool SpanInput::write(const char* data, std::size_t size) {
  if (!wire_) return false;
  wire_->append(data, size);
  return true;
}

BIO* new_span_bio(SpanInput& input) {
  // Made once and never freed: like OpenSSL's own methods it lives as long as the process, and
  // freeing it at exit could pull it from under a session that a static destructor frees later.
  static BIO_METHOD* const method = make_method();
  if (!method) return nullptr;
  BIO* bio = BIO_new(method);
  if (!bio) return nullptr;
  BIO_set_data(bio, &input);
  BIO_set_init(bio, 1);  // BIO_read refuses a BIO that is not initialised
  return bio;
}

}  // namespace prefork::net::tls
