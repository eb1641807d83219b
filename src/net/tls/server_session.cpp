#include "net/tls/server_session.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "net/tls/client_context.hpp"

namespace prefork::net::tls {
namespace {

// Points the span BIO's writes at wire for the length of one SSL call.
class WireScope {
 public:
  WireScope(SpanInput& input, std::string& wire) : input_(input) { input_.write_to(&wire); }
  ~WireScope() { input_.write_to(nullptr); }
  WireScope(const WireScope&) = delete;
  WireScope& operator=(const WireScope&) = delete;

 private:
  SpanInput& input_;
};

// What the last error OpenSSL queued says about whose fault a failure was. Never eof: the span
// BIO never reports end of file, so the caller, which sees the socket close, says so with
// fail(Failure::eof).
Failure classify(unsigned long error) {
  if (ERR_GET_LIB(error) != ERR_LIB_SSL) return Failure::protocol;
  int reason = ERR_GET_REASON(error);
  if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
      reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    return Failure::certificate;
  }
  // OpenSSL reports an alert the peer sent as a reason past this offset.
  return reason >= SSL_AD_REASON_OFFSET ? Failure::alert : Failure::protocol;
}

// The subject of the client's certificate when it verified, else "".
std::string verified_subject(const SSL* session) {
  X509* peer = SSL_get0_peer_certificate(session);
  if (!peer || SSL_get_verify_result(session) != X509_V_OK) return {};
  BIO* text = BIO_new(BIO_s_mem());
  if (!text) return {};
  std::string subject;
  if (X509_NAME_print_ex(text, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long size = BIO_get_mem_data(text, &data);
    if (size > 0) subject.assign(data, std::size_t(size));
  }
  BIO_free(text);
  return subject;
}

}  // namespace

std::string_view failure_name(Failure failure) {
  switch (failure) {
    case Failure::none:
      return "none";
    case Failure::timeout:
      return "timeout";
    case Failure::protocol:
      return "protocol";
    case Failure::certificate:
      return "certificate";
    case Failure::alert:
      return "alert";
    case Failure::eof:
      return "eof";
  }
  return "unknown";
}

ServerSession::ServerSession(SSL* session) : session_(session) {
  SSL_set_app_data(session_, this);
  SSL_set_info_callback(session_, on_info);
  // Without a BIO every SSL call fails, so a session OpenSSL could not equip just fails.
  if (BIO* bio = new_span_bio(input_)) SSL_set_bio(session_, bio, bio);
}

ServerSession::~ServerSession() {
  SSL_free(session_);  // frees the BIO too
}

// OpenSSL 3 answers a TLS 1.2 client's renegotiation with a warning no_renegotiation alert and
// carries on; a client that tries it is misbehaving, so the session fails and the caller
// closes.
void ServerSession::on_info(const SSL* session, int where, int value) {
  if (!(where & SSL_CB_WRITE_ALERT) || (value & 0xff) != SSL_AD_NO_RENEGOTIATION) return;
  auto* self = static_cast<ServerSession*>(SSL_get_app_data(session));
  self->failure_ = Failure::protocol;
  self->failure_reason_ = "the client tried to renegotiate";
}

void ServerSession::feed(const char* data, std::size_t size) {
  input_.lend(data, size);
  if (size == 0) return;
  started_ = true;
}

void ServerSession::keep_unread() {
  input_.keep_unread();
}

ServerSession::Progress ServerSession::handshake(std::string& wire) {
  if (handshaken_) return Progress::done;
  if (failure_ != Failure::none) return Progress::failed;
  WireScope scope(input_, wire);
  ERR_clear_error();
  int result = SSL_do_handshake(session_);
  if (result == 1) {
    handshaken_ = true;
    subject_ = verified_subject(session_);
    return Progress::done;
  }
  if (SSL_get_error(session_, result) == SSL_ERROR_WANT_READ) return Progress::want_more;
  record_failure();
  return Progress::failed;
}

ServerSession::Read ServerSession::read(char* dst, std::size_t room, std::size_t& got,
                                        std::string& wire) {
  got = 0;
  if (failure_ != Failure::none) return Read::failed;
  // SSL_read_ex with no room would report nothing useful; the caller makes room first.
  if (room == 0) return Read::data;
  WireScope scope(input_, wire);
  ERR_clear_error();
  int result = SSL_read_ex(session_, dst, room, &got);
  if (failure_ != Failure::none) {  // on_info saw a renegotiation
    got = 0;
    return Read::failed;
  }
  if (result == 1) return Read::data;
  switch (SSL_get_error(session_, result)) {
    case SSL_ERROR_WANT_READ:
      return Read::want_more;
    case SSL_ERROR_ZERO_RETURN:
      return Read::closed;
    default:
      record_failure();
      return Read::failed;
  }
}

bool ServerSession::write(std::string_view plaintext, std::string& wire) {
  if (failure_ != Failure::none) return false;
  if (plaintext.empty()) return true;
  WireScope scope(input_, wire);
  ERR_clear_error();
  std::size_t written = 0;
  // A memory sink never makes a write wait, so one call takes the whole plaintext.
  int result = SSL_write_ex(session_, plaintext.data(), plaintext.size(), &written);
  if (result == 1) return true;
  record_failure();
  return false;
}

void ServerSession::shutdown(std::string& wire) {
  WireScope scope(input_, wire);
  ERR_clear_error();
  SSL_shutdown(session_);
}

bool ServerSession::release_buffers() {
  if (!input_.release()) return false;
  return SSL_free_buffers(session_) == 1;
}

void ServerSession::record_failure() {
  unsigned long error = ERR_peek_last_error();
  failure_ = error == 0 ? Failure::protocol : classify(error);
  failure_reason_ = last_error(session_);
}

}  // namespace prefork::net::tls
