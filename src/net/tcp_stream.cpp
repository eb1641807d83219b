#include "net/tcp_stream.hpp"

#include <cstring>

namespace prefork::net {
namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;

std::string uv_reason(int status) {
  return uv_strerror(status);
}

// An address given as an IP needs no lookup (and no libuv thread pool in the worker).
bool parse_ip(const std::string& host, int port, sockaddr_storage& address) {
  std::memset(&address, 0, sizeof address);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  if (uv_ip4_addr(host.c_str(), port, v4) == 0) return true;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  return uv_ip6_addr(host.c_str(), port, v6) == 0;
}

std::vector<sockaddr_storage> copied(const addrinfo* addresses) {
  std::vector<sockaddr_storage> copies;
  for (const addrinfo* at = addresses; at; at = at->ai_next) {
    sockaddr_storage address{};
    std::memcpy(&address, at->ai_addr, std::min<std::size_t>(at->ai_addrlen, sizeof address));
    copies.push_back(address);
  }
  return copies;
}

struct WriteRequest {
  uv_write_t request;
  std::string bytes;
};

}  // namespace

struct TcpStream::Resolve {
  uv_getaddrinfo_t request;
  TcpStream* owner;
};

TcpStream::TcpStream(uv_loop_t* loop, Events events)
    : loop_(loop), events_(std::move(events)), read_buffer_(new char[read_buffer_size]) {}

TcpStream::~TcpStream() {
  if (resolve_) {
    resolve_->owner = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->request));
  }
  if (tcp_) tcp_->data = nullptr;
}

void TcpStream::connect(const std::string& host, int port) {
  sockaddr_storage address;
  if (parse_ip(host, port, address)) {
    connect(std::vector<sockaddr_storage>{address});
    return;
  }
  host_ = host;
  resolve_ = new Resolve{{}, this};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int status = uv_getaddrinfo(
      loop_, &resolve_->request,
      [](uv_getaddrinfo_t* request, int status, addrinfo* addresses) {
        auto* resolve = reinterpret_cast<Resolve*>(request);
        TcpStream* self = resolve->owner;
        delete resolve;
        if (self) self->resolve_ = nullptr;
        if (self && status == 0) self->connect(copied(addresses));
        uv_freeaddrinfo(addresses);
        if (self && status != 0)
          self->fail("cannot resolve " + self->host_ + ": " + uv_reason(status));
      },
      host.c_str(), std::to_string(port).c_str(), &hints);
  if (status != 0) {
    delete resolve_;
    resolve_ = nullptr;
    fail("cannot resolve " + host + ": " + uv_reason(status));
  }
}

void TcpStream::connect(std::vector<sockaddr_storage> addresses) {
  addresses_ = std::move(addresses);
  next_ = 0;
  connect_next();
}

// One address after the other, as a blocking client would: "localhost" may be ::1 first while
// Redis listens on 127.0.0.1 only.
void TcpStream::connect_next() {
  if (next_ == addresses_.size()) {
    fail(last_connect_error_.empty() ? "no address to connect to" : last_connect_error_);
    return;
  }
  const sockaddr_storage& address = addresses_[next_++];
  if (tcp_) tcp_->data = nullptr;
  tcp_ = UvHandle<uv_tcp_t>(loop_, uv_tcp_init);
  if (!tcp_) {
    fail("cannot make a socket");
    return;
  }
  tcp_->data = this;
  uv_tcp_nodelay(tcp_.get(), 1);
  auto* request = new uv_connect_t;
  int status = uv_tcp_connect(request, tcp_.get(), reinterpret_cast<const sockaddr*>(&address),
                              [](uv_connect_t* request, int status) {
                                auto* self = static_cast<TcpStream*>(request->handle->data);
                                delete request;
                                if (self) self->on_connect(status);
                              });
  if (status != 0) {
    delete request;
    last_connect_error_ = uv_reason(status);
    connect_next();
  }
}

void TcpStream::on_connect(int status) {
  if (status != 0) {
    last_connect_error_ = uv_reason(status);
    connect_next();
    return;
  }
  uv_read_start(
      tcp_.stream(),
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buffer) {
        auto* self = static_cast<TcpStream*>(handle->data);
        *buffer = self ? uv_buf_init(self->read_buffer_.get(), read_buffer_size)
                       : uv_buf_init(nullptr, 0);
      },
      [](uv_stream_t* stream, ssize_t length, const uv_buf_t*) {
        if (auto* self = static_cast<TcpStream*>(stream->data)) self->on_read(length);
      });
  events_.connected();
}

void TcpStream::on_read(ssize_t length) {
  if (length == UV_EOF) {
    fail("the server closed the connection");
  } else if (length < 0) {
    fail(uv_reason(int(length)));
  } else if (length > 0) {
    events_.received(std::string_view(read_buffer_.get(), std::size_t(length)));
  }
}

void TcpStream::write(std::string bytes) {
  if (!tcp_ || failed_ || bytes.empty()) return;
  auto* request = new WriteRequest{{}, std::move(bytes)};
  uv_buf_t buffer = uv_buf_init(request->bytes.data(), unsigned(request->bytes.size()));
  int status =
      uv_write(&request->request, tcp_.stream(), &buffer, 1, [](uv_write_t* written, int status) {
        auto* self = static_cast<TcpStream*>(written->handle->data);
        delete reinterpret_cast<WriteRequest*>(written);
        if (self && status != 0 && status != UV_ECANCELED) self->fail(uv_reason(status));
      });
  if (status != 0) {
    delete request;
    fail(uv_reason(status));
  }
}

// The socket is closed at once; the handler is called last, as it may destroy the stream.
void TcpStream::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  if (tcp_) {
    tcp_->data = nullptr;
    tcp_.reset();
  }
  events_.failed(reason);
}

}  // namespace prefork::net
