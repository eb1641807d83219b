// A parsed HTTP request: a read-only view into the connection's buffer.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>

namespace prefork {

class Worker;

struct Header {
  std::string_view name;
  std::string_view value;
};

// Valid until its response is sent (or its Responder destroyed). Copy what must live longer.
class Request {
 public:
  std::string_view method() const { return method_; }
  // The request target as sent: "/path?query".
  std::string_view target() const { return target_; }
  std::string_view path() const { return path_; }
  // The part after '?', without it; empty when there is none.
  std::string_view query() const { return query_; }
  // Case-insensitive lookup of the first header with this name.
  std::optional<std::string_view> header(std::string_view name) const {
    for (const Header& field : headers_) {
      if (equal_ignoring_case(field.name, name)) return field.value;
    }
    return std::nullopt;
  }
  std::span<const Header> headers() const { return headers_; }
  std::string_view body() const { return body_; }
  // "ip:port" of the client ("[ip]:port" for IPv6), or the unix socket path. Behind a trusted
  // proxy (README, "Behind a proxy"): the client the proxy saw, from its PROXY protocol header,
  // or from X-Forwarded-For with port 0.
  std::string_view peer() const { return peer_; }
  // "http" or "https": the scheme the client used, as the listener or a trusted proxy's
  // secure_scheme_headers say.
  std::string_view scheme() const { return scheme_; }
  // The subject of the client certificate the TLS handshake verified, as RFC 2253 writes it
  // ("CN=client,O=Example"); empty on plain HTTP and when the client sent no certificate.
  std::string_view client_subject() const { return client_subject_; }
  bool keep_alive() const { return keep_alive_; }
  int http_major() const { return http_major_; }
  int http_minor() const { return http_minor_; }

  // The worker serving the request: its loop, metrics(), post() and offload(). Every request
  // prefork hands to a handler has one; a Request made without (a test's) throws logic_error.
  Worker& worker() const {
    if (!worker_) throw std::logic_error("this request has no worker");
    return *worker_;
  }

  // Names the route the app gave the request: the endpoint label of
  // {prefix}_worker_error_handling_total when an exception escapes handle() or respond()
  // ("other" while unnamed). Each name is a label value, so keeping them few is the app's
  // promise: a route table's names ("users", "user_by_id"), never text from the request such
  // as the path, or every URL a client invents becomes a series. The name is not copied: a
  // string literal, or text the app keeps for good. Call it in the handler, before the answer.
  void set_route(std::string_view name) const { route_ = name; }
  std::string_view route() const { return route_; }

  // Filled in by the server's HTTP layer.
  struct Fields {
    std::string_view method, target, path, query, body, peer;
    std::span<const Header> headers;
    bool keep_alive = true;
    int http_major = 1, http_minor = 1;
    std::string_view scheme = "http";
    std::string_view client_subject;
    Worker* worker = nullptr;
  };
  explicit Request(const Fields& fields)
      : method_(fields.method),
        target_(fields.target),
        path_(fields.path),
        query_(fields.query),
        body_(fields.body),
        peer_(fields.peer),
        headers_(fields.headers),
        keep_alive_(fields.keep_alive),
        http_major_(fields.http_major),
        http_minor_(fields.http_minor),
        scheme_(fields.scheme),
        client_subject_(fields.client_subject),
        worker_(fields.worker) {}

 private:
  static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c; }
  static bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
  }

  std::string_view method_, target_, path_, query_, body_, peer_;
  std::span<const Header> headers_;
  bool keep_alive_;
  int http_major_, http_minor_;
  std::string_view scheme_;
  std::string_view client_subject_;
  Worker* worker_;
  // The one thing a handler sets on its request; read back on the thread that called it.
  mutable std::string_view route_;
};

}  // namespace prefork
