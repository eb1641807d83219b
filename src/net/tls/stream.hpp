// TLS over a TcpStream (net::Stream): the handshake runs when TCP connects, "connected" is
// reported once it is done, then plaintext goes both ways through a tls::Engine.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "net/stream.hpp"
#include "net/tcp_stream.hpp"
#include "net/tls/client_context.hpp"
#include "net/tls/engine.hpp"

namespace prefork::net::tls {

class Stream final : public net::Stream {
 public:
  Stream(uv_loop_t* loop, std::shared_ptr<const ClientContext> context, Events events);
  ~Stream() override;

  void connect(const std::string& host, int port) override;
  void write(std::string bytes) override;

 private:
  void on_tcp_connected();
  void on_ciphertext(std::string_view bytes);
  bool advance_handshake();
  void send_output();
  void fail(const std::string& reason);

  std::shared_ptr<const ClientContext> context_;
  Events events_;
  std::unique_ptr<Engine> engine_;
  TcpStream tcp_;
  bool failed_ = false;
  // False once destroyed: a handler may destroy the stream, and the code that called it must
  // then return without touching a member.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace prefork::net::tls
