#include "net/tls/stream.hpp"

namespace prefork::net::tls {

Stream::Stream(uv_loop_t* loop, std::shared_ptr<const ClientContext> context, Events events)
    : context_(std::move(context)),
      events_(std::move(events)),
      tcp_(loop, {[this] { on_tcp_connected(); },
                  [this](std::string_view bytes) { on_ciphertext(bytes); },
                  [this](const std::string& reason) { fail(reason); }}) {}

Stream::~Stream() {
  *alive_ = false;
}

void Stream::connect(const std::string& host, int port) {
  SSL* session = context_->new_session(host);
  if (!session) {
    fail("cannot start a TLS session for " + host + ": " + last_error());
    return;
  }
  engine_ = std::make_unique<Engine>(session, host + ":" + std::to_string(port));
  tcp_.connect(host, port);
}

void Stream::on_tcp_connected() {
  if (advance_handshake()) events_.connected();
}

// True once the handshake is done; false while it waits for the server or after a failure.
bool Stream::advance_handshake() {
  std::shared_ptr<bool> alive = alive_;
  Result<bool> done = engine_->handshake();
  send_output();
  if (!*alive || failed_) return false;
  if (!done) {
    fail(done.message());
    return false;
  }
  return *done;
}

void Stream::on_ciphertext(std::string_view bytes) {
  std::shared_ptr<bool> alive = alive_;
  engine_->feed(bytes);
  if (!engine_->handshaken()) {
    if (!advance_handshake()) return;
    events_.connected();
    if (!*alive || failed_) return;
  }
  Result<std::string> plaintext = engine_->read();
  send_output();  // a read may answer the server (a key update)
  if (!*alive || failed_) return;
  if (!plaintext) {
    fail(plaintext.message());
    return;
  }
  if (!plaintext->empty()) events_.received(*plaintext);
}

void Stream::write(std::string bytes) {
  if (failed_ || !engine_ || !engine_->handshaken()) return;
  if (Status written = engine_->write(bytes); !written.ok()) {
    fail(written.message());
    return;
  }
  send_output();
}

void Stream::send_output() {
  if (engine_->has_output()) tcp_.write(engine_->take_output());
}

void Stream::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  events_.failed(reason);
}

}  // namespace prefork::net::tls
