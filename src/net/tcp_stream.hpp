// A client TCP connection on a libuv loop (net::Stream): resolves the host (an IP address at
// once, a name with uv_getaddrinfo, off the loop), connects to the first address that
// accepts, then reads and writes.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/uv_handle.hpp"
#include "net/stream.hpp"

namespace prefork::net {

class TcpStream final : public Stream {
 public:
  TcpStream(uv_loop_t* loop, Events events);
  ~TcpStream() override;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  void connect(const std::string& host, int port) override;
  // To the first of addresses that accepts, in order.
  void connect(std::vector<sockaddr_storage> addresses);
  void write(std::string bytes) override;

 private:
  struct Resolve;

  void connect_next();
  void on_connect(int status);
  void on_read(ssize_t length);
  void fail(const std::string& reason);

  uv_loop_t* loop_;
  Events events_;
  // The attempt's socket; its data is this while the stream lives, null after, so that the
  // callbacks of requests still in flight (which the close cancels) find no owner.
  UvHandle<uv_tcp_t> tcp_;
  Resolve* resolve_ = nullptr;  // a lookup in flight; freed by its callback
  std::string host_;            // for messages
  std::vector<sockaddr_storage> addresses_;
  std::size_t next_ = 0;  // the address to try next
  std::string last_connect_error_;
  std::unique_ptr<char[]> read_buffer_;
  bool failed_ = false;
};

}  // namespace prefork::net
