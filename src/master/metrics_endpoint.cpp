#include "master/metrics_endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <prefork/response.hpp>
#include <string_view>

#include "core/log.hpp"
#include "core/text.hpp"
#include "http/date.hpp"
#include "http/parser.hpp"
#include "http/serializer.hpp"
#include "metrics/exposition.hpp"

namespace prefork::master {
namespace {

constexpr std::size_t max_request_bytes = 16 * 1024;
constexpr std::size_t read_size = 4096;

// Handshake flights, written while the connection goes on reading; freed once written.
struct FlightWrite {
  uv_write_t request;
  std::string bytes;
};

void on_flight_written(uv_write_t* request, int) {
  delete static_cast<FlightWrite*>(request->data);
}

// One client connection. Deletes itself once closed; a scrape finishing after the client
// left only finds a closing connection.
class Connection {
 public:
  // session: a TLS session (owned from here), or null for plain HTTP.
  Connection(ScrapeGate& gate, const config::Limits& limits, SSL* session,
             MetricsEndpoint::TlsFailureCounter count_failure)
      : gate_(gate), parser_(limits), count_failure_(std::move(count_failure)) {
    handle_.data = this;
    if (session) tls_ = std::make_unique<net::tls::ServerSession>(session);
  }

  uv_tcp_t* handle() { return &handle_; }

  void start(std::uint64_t header_timeout_ms) {
    timer_ = UvTimer(handle_.loop, uv_timer_init);
    timer_->data = this;
    uv_timer_start(timer_.get(), on_timeout, header_timeout_ms, 0);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), on_alloc,
                  [](uv_stream_t* stream, ssize_t read, const uv_buf_t* buf) {
                    static_cast<Connection*>(stream->data)->received(read, buf);
                  });
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    timer_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_),
             [](uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); });
  }

 private:
  // Plain bytes go straight into the request buffer; ciphertext into its own, to be decrypted
  // into the request buffer.
  static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* connection = static_cast<Connection*>(handle->data);
    if (connection->tls_) {
      *buf = uv_buf_init(connection->ciphertext_, sizeof connection->ciphertext_);
      return;
    }
    connection->buffer_.resize(connection->used_ + read_size);
    *buf = uv_buf_init(connection->buffer_.data() + connection->used_, read_size);
  }

  static void on_timeout(uv_timer_t* timer) {
    auto* connection = static_cast<Connection*>(timer->data);
    connection->fail_handshake(net::tls::Failure::timeout);
    connection->close();
  }

  // A port check that never sent a byte is no failed handshake.
  void fail_handshake(net::tls::Failure failure) {
    if (tls_ && !tls_->handshaken() && tls_->started()) count(failure);
  }

  void count(net::tls::Failure failure) {
    log::debug("metrics: TLS connection failed (", net::tls::failure_name(failure),
               "): ", tls_->failure_reason());
    if (count_failure_) count_failure_(failure);
  }

  void received(ssize_t read, const uv_buf_t* buf) {
    if (read < 0) {
      fail_handshake(net::tls::Failure::eof);
      close();
      return;
    }
    std::size_t begin = used_;
    if (tls_) {
      tls_->feed(buf->base, std::size_t(read));
      bool going_on = decrypt();
      tls_->keep_unread();
      if (!going_on) return;
    } else {
      used_ += std::size_t(read);
    }
    parse_from(begin);
  }

  // Handshakes, then decrypts what arrived into the request buffer. False: the connection
  // failed (and is closing), or waits for more of the handshake.
  bool decrypt() {
    std::string wire;
    if (!tls_->handshaken()) {
      net::tls::ServerSession::Progress progress = tls_->handshake(wire);
      send_flight(std::exchange(wire, {}));
      if (progress == net::tls::ServerSession::Progress::failed) {
        fail_handshake(tls_->failure());
        close();
      }
      if (progress != net::tls::ServerSession::Progress::done) return false;
    }
    net::tls::ServerSession::Read read = net::tls::ServerSession::Read::data;
    while (read == net::tls::ServerSession::Read::data && used_ <= max_request_bytes) {
      buffer_.resize(used_ + read_size);
      std::size_t got = 0;
      read = tls_->read(buffer_.data() + used_, read_size, got, wire);
      used_ += got;
    }
    send_flight(std::move(wire));
    bool failed = read == net::tls::ServerSession::Read::failed;
    if (failed) count(tls_->failure());
    // A close_notify before a whole request: nothing to answer.
    if (failed || read == net::tls::ServerSession::Read::closed) {
      close();
      return false;
    }
    return true;
  }

  void send_flight(std::string bytes) {
    if (bytes.empty() || closing_) return;
    auto* flight = new FlightWrite{{}, std::move(bytes)};
    flight->request.data = flight;
    uv_buf_t buf = uv_buf_init(flight->bytes.data(), unsigned(flight->bytes.size()));
    if (uv_write(&flight->request, reinterpret_cast<uv_stream_t*>(&handle_), &buf, 1,
                 on_flight_written) != 0)
      delete flight;
  }

  void parse_from(std::size_t begin) {
    if (used_ > max_request_bytes) {
      answer(Response::text(431, "Request too large\n"));
      return;
    }
    switch (parser_.execute(buffer_.data(), begin, used_)) {
      case http::Parser::Outcome::need_more:
        return;
      case http::Parser::Outcome::error:
        answer(Response::text(parser_.error_status(), "Bad request\n"));
        return;
      case http::Parser::Outcome::message:
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
        // The request is whole: scrape_timeout bounds the rest.
        uv_timer_stop(timer_.get());
        route();
        return;
    }
  }

  std::string_view field(std::string_view name) const {
    const http::Message& message = const_cast<http::Parser&>(parser_).message();
    const char* base = buffer_.data() + message.start;
    for (const http::FieldSpan& span : message.fields) {
      std::string_view field_name(base + span.name_offset, span.name_length);
      if (iequals(field_name, name)) return {base + span.value_offset, span.value_length};
    }
    return {};
  }

  void route() {
    http::Message& message = parser_.message();
    std::string_view method = message.method;
    std::string_view target(buffer_.data() + message.start + message.target_offset,
                            message.target_length);
    if (std::size_t query = target.find('?'); query != target.npos)
      target = target.substr(0, query);
    head_ = message.head;
    if (method != "GET" && method != "HEAD") {
      Response response = Response::text(405, "Method not allowed\n");
      response.headers.emplace_back("Allow", "GET, HEAD");
      answer(std::move(response));
    } else if (target == "/metrics") {
      bool gzip = metrics::accepts_gzip(field("Accept-Encoding"));
      gate_.scrape([this, gzip](Result<std::string> text) { send_metrics(text, gzip); });
    } else if (target == "/health") {
      gate_.check_health([this](const storage::Health& health) { send_health(health); });
    } else {
      answer(Response::text(404, "Not found: try /metrics or /health\n"));
    }
  }

  // The storage's own lanes log its outages once; a failed scrape is only answered.
  void send_metrics(Result<std::string>& text, bool gzip) {
    if (!text.ok()) {
      answer(Response::text(503, "Metrics storage unavailable: " + text.message() + "\n"));
      return;
    }
    Response response{200, metrics::text_content_type, {}, std::move(text).value(), {}};
    std::string compressed;
    if (gzip && metrics::gzip(response.body, compressed)) {
      response.body = std::move(compressed);
      response.headers.emplace_back("Content-Encoding", "gzip");
    }
    answer(std::move(response));
  }

  void send_health(const storage::Health& health) {
    std::string body = "{\"status\": \"";
    body += !health.healthy ? "unavailable" : health.redis_fallback ? "degraded" : "ok";
    body += "\", \"storage\": \"" + health.storage + "\", \"redis_connected\": ";
    body += health.redis_connected ? "true" : "false";
    if (health.redis_fallback) body += ", \"redis_fallback\": true";
    body += "}\n";
    answer(Response::json(health.healthy ? 200 : 503, std::move(body)));
  }

  void answer(Response response) {
    if (closing_) return;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
    http::Framing framing;
    framing.head_request = head_;
    framing.close = true;
    out_.clear();
    http::append_response(out_, response, dates_.get(uv_now(handle_.loop)), framing);
    if (tls_) encrypt_answer();
    uv_buf_t buf = uv_buf_init(out_.data(), unsigned(out_.size()));
    write_.data = this;
    if (uv_write(&write_, reinterpret_cast<uv_stream_t*>(&handle_), &buf, 1,
                 [](uv_write_t* request, int) {
                   static_cast<Connection*>(request->data)->close();
                 }) != 0)
      close();
  }

  // The answer's records and close_notify replace its plain text.
  void encrypt_answer() {
    std::string wire;
    tls_->write(out_, wire);
    tls_->shutdown(wire);
    out_ = std::move(wire);
  }

  ScrapeGate& gate_;
  http::Parser parser_;
  http::DateCache dates_;
  MetricsEndpoint::TlsFailureCounter count_failure_;
  std::unique_ptr<net::tls::ServerSession> tls_;  // null for plain HTTP
  char ciphertext_[read_size];
  UvTimer timer_;  // header_timeout, from the accept until the request is whole
  uv_tcp_t handle_;
  uv_write_t write_;
  std::string buffer_;
  std::size_t used_ = 0;
  std::string out_;
  bool head_ = false;
  bool closing_ = false;
};

}  // namespace

MetricsEndpoint::MetricsEndpoint(uv_loop_t* loop, const config::Config& config, ScrapeGate& gate,
                                 std::shared_ptr<const net::tls::ServerContext> tls)
    : loop_(loop), gate_(gate), config_(config), tls_(std::move(tls)), server_(loop, uv_tcp_init) {
  server_->data = this;
}

void MetricsEndpoint::use_tls(std::shared_ptr<const net::tls::ServerContext> tls) {
  if (!tls_ != !tls) {
    log::warning("metrics: turning HTTPS on or off takes effect on restart");
    return;
  }
  tls_ = std::move(tls);
}

Status MetricsEndpoint::listen() {
  const std::string& address = config_.metrics.bind_address;
  sockaddr_storage storage{};
  auto* any = reinterpret_cast<sockaddr*>(&storage);
  if (uv_ip4_addr(address.c_str(), config_.metrics.port, reinterpret_cast<sockaddr_in*>(any)) !=
          0 &&
      uv_ip6_addr(address.c_str(), config_.metrics.port, reinterpret_cast<sockaddr_in6*>(any)) != 0)
    return Status::error("metrics bind_address " + address + ": not an IP address");
  std::string where =
      "metrics endpoint " + address + ":" + std::to_string(config_.metrics.port) + ": ";
  if (int error = uv_tcp_bind(server_.get(), any, 0); error != 0)
    return Status::error(where + uv_strerror(error));
  return start_listening(where);
}

Status MetricsEndpoint::listen_on(int fd) {
  std::string where = "metrics endpoint on inherited fd " + std::to_string(fd) + ": ";
  // Workers are forked, not executed: they close this handle with the master's loop.
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (int error = uv_tcp_open(server_.get(), uv_os_sock_t(fd)); error != 0) {
    ::close(fd);
    return Status::error(where + uv_strerror(error));
  }
  return start_listening(where);
}

Status MetricsEndpoint::start_listening(const std::string& where) {
  if (int error = uv_listen(server_.stream(), 128, on_connection); error != 0)
    return Status::error(where + uv_strerror(error));
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(server_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  char host[INET6_ADDRSTRLEN] = "";
  bool v6 = bound.ss_family == AF_INET6;
  if (v6) {
    const auto& address = reinterpret_cast<const sockaddr_in6&>(bound);
    inet_ntop(AF_INET6, &address.sin6_addr, host, sizeof host);
    port_ = ntohs(address.sin6_port);
  } else {
    const auto& address = reinterpret_cast<const sockaddr_in&>(bound);
    inet_ntop(AF_INET, &address.sin_addr, host, sizeof host);
    port_ = ntohs(address.sin_port);
  }
  log::info("Metrics listening at: ", tls_ ? "https://" : "http://", v6 ? "[" : "", host,
            v6 ? "]" : "", ":", port_);
  return {};
}

int MetricsEndpoint::fd() const {
  uv_os_fd_t fd = -1;
  if (uv_fileno(server_.base(), &fd) != 0) return -1;
  return fd;
}

void MetricsEndpoint::on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* endpoint = static_cast<MetricsEndpoint*>(server->data);
  SSL* session = endpoint->tls_ ? endpoint->tls_->new_session() : nullptr;
  auto* connection =
      new Connection(endpoint->gate_, endpoint->config_.limits, session, endpoint->count_failure_);
  uv_tcp_init(endpoint->loop_, connection->handle());
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(connection->handle())) != 0 ||
      (endpoint->tls_ && !session)) {
    connection->close();
    return;
  }
  double timeout = endpoint->config_.limits.header_timeout;
  // 0 disables the timeout, as it does for the app's connections.
  connection->start(timeout > 0 ? std::uint64_t(timeout * 1000) : UINT32_MAX);
}

}  // namespace prefork::master
