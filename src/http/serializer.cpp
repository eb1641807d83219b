#include "http/serializer.hpp"

#include <charconv>

#include "core/text.hpp"
#include "http/status.hpp"

namespace prefork::http {
namespace {

bool is_framing_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ");
  if (status >= 100 && status <= 999) {
    const char code[3] = {char('0' + status / 100), char('0' + status / 10 % 10),
                          char('0' + status % 10)};
    out.append(code, 3);
  } else {
    append_number(out, std::size_t(status));
  }
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\nServer: prefork\r\nDate: ");
}

}  // namespace

void append_response(std::string& out, const Response& response, std::string_view date,
                     const Framing& framing) {
  append_status_line(out, response.status);
  out.append(date);
  std::string_view body = response.payload();
  bool bodyless = status_forbids_body(response.status);
  if (!bodyless) {
    out.append("\r\nContent-Length: ");
    append_number(out, body.size());
  }
  if (!response.content_type.empty()) {
    out.append("\r\nContent-Type: ");
    out.append(response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (is_framing_header(name)) continue;
    out.append("\r\n");
    out.append(name);
    out.append(": ");
    out.append(value);
  }
  if (framing.close) {
    out.append("\r\nConnection: close");
  } else if (framing.keep_alive_header) {
    out.append("\r\nConnection: keep-alive");
  }
  out.append("\r\n\r\n");
  if (!bodyless && !framing.head_request) out.append(body);
}

void append_error(std::string& out, int status, std::string_view date) {
  Response response = Response::view(status, "text/plain; charset=utf-8", reason_phrase(status));
  Framing framing;
  framing.close = true;
  append_response(out, response, date, framing);
}

}  // namespace prefork::http
