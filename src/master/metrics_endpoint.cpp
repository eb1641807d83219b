#include "master/metrics_endpoint.hpp"

#include <arpa/inet.h>

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

// One client connection. Deletes itself once closed; a scrape finishing after the client
// left only finds a closing connection.
class Connection {
 public:
  Connection(ScrapeGate& gate, const config::Limits& limits) : gate_(gate), parser_(limits) {
    handle_.data = this;
  }

  uv_tcp_t* handle() { return &handle_; }

  void start() {
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&handle_),
        [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
          auto* connection = static_cast<Connection*>(handle->data);
          connection->buffer_.resize(connection->used_ + 4096);
          *buf = uv_buf_init(connection->buffer_.data() + connection->used_, 4096);
        },
        [](uv_stream_t* stream, ssize_t read, const uv_buf_t*) {
          static_cast<Connection*>(stream->data)->received(read);
        });
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_),
             [](uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); });
  }

 private:
  void received(ssize_t read) {
    if (read < 0) {
      close();
      return;
    }
    std::size_t begin = used_;
    used_ += std::size_t(read);
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
    uv_buf_t buf = uv_buf_init(out_.data(), unsigned(out_.size()));
    write_.data = this;
    if (uv_write(&write_, reinterpret_cast<uv_stream_t*>(&handle_), &buf, 1,
                 [](uv_write_t* request, int) {
                   static_cast<Connection*>(request->data)->close();
                 }) != 0)
      close();
  }

  ScrapeGate& gate_;
  http::Parser parser_;
  http::DateCache dates_;
  uv_tcp_t handle_;
  uv_write_t write_;
  std::string buffer_;
  std::size_t used_ = 0;
  std::string out_;
  bool head_ = false;
  bool closing_ = false;
};

}  // namespace

MetricsEndpoint::MetricsEndpoint(uv_loop_t* loop, const config::Config& config, ScrapeGate& gate)
    : loop_(loop), gate_(gate), config_(config), server_(loop, uv_tcp_init) {
  server_->data = this;
}

Status MetricsEndpoint::listen() {
  const std::string& address = config_.metrics.bind_address;
  sockaddr_storage storage{};
  auto* any = reinterpret_cast<sockaddr*>(&storage);
  if (uv_ip4_addr(address.c_str(), config_.metrics.port, reinterpret_cast<sockaddr_in*>(any)) !=
          0 &&
      uv_ip6_addr(address.c_str(), config_.metrics.port, reinterpret_cast<sockaddr_in6*>(any)) != 0)
    return Status::error("metrics bind_address " + address + ": not an IP address");
  int error = uv_tcp_bind(server_.get(), any, 0);
  if (error == 0) error = uv_listen(server_.stream(), 128, on_connection);
  if (error != 0)
    return Status::error("metrics endpoint " + address + ":" +
                         std::to_string(config_.metrics.port) + ": " + uv_strerror(error));
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(server_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  bool v6 = address.find(':') != std::string::npos;
  log::info("Metrics listening at: http://", v6 ? "[" : "", address, v6 ? "]" : "", ":", port_);
  return {};
}

void MetricsEndpoint::on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* endpoint = static_cast<MetricsEndpoint*>(server->data);
  auto* connection = new Connection(endpoint->gate_, endpoint->config_.limits);
  uv_tcp_init(endpoint->loop_, connection->handle());
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(connection->handle())) != 0) {
    connection->close();
    return;
  }
  connection->start();
}

}  // namespace prefork::master
