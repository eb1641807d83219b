// What a handler answers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prefork {

struct Response {
  int status = 200;
  // Sent as Content-Type when not empty. Must outlive the response: the helpers below point it
  // at string literals; for a computed value add a "Content-Type" entry to headers instead.
  std::string_view content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  // The body is body_view when it is not empty (static data, no copy), else body.
  std::string body;
  std::string_view body_view;

  static Response text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", {}, std::move(body), {}};
  }
  static Response json(int status, std::string body) {
    return {status, "application/json", {}, std::move(body), {}};
  }
  // A static body: not copied, so the view must outlive the response (string literals do).
  static Response view(int status, std::string_view content_type, std::string_view body) {
    return {status, content_type, {}, {}, body};
  }
  static Response empty(int status) { return {status, {}, {}, {}, {}}; }
  // What a request gets when its handler fails (throws, or drops its Responder unanswered).
  static Response internal_error() {
    return view(500, "text/plain; charset=utf-8", "Internal Server Error\n");
  }

  std::string_view payload() const {
    return body_view.empty() ? std::string_view(body) : body_view;
  }
};

}  // namespace prefork
