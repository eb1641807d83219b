// A client byte stream on a libuv loop, plain (TcpStream) or TLS (tls::Stream): connect, then
// bytes both ways. Nothing blocks the loop. Failure is reported once; after it and after the
// destructor no event comes. An event handler may destroy the stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace prefork::net {

class Stream {
 public:
  struct Events {
    std::function<void()> connected;  // for TLS: once the handshake is done
    std::function<void(std::string_view bytes)> received;
    // Resolution or every connect failed, the handshake failed, a read or write failed, or
    // the peer closed.
    std::function<void(const std::string& reason)> failed;
  };

  virtual ~Stream() = default;
  virtual void connect(const std::string& host, int port) = 0;
  // Sends bytes after what was written before; only once connected.
  virtual void write(std::string bytes) = 0;
};

}  // namespace prefork::net
