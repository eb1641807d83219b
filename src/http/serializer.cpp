#include "http/serializer.hpp"

#include <charconv>
#include <cstring>

#include "core/text.hpp"
#include "http/status.hpp"

namespace prefork::http {
namespace {

bool is_framing_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

// Writes a response's head into memory sized for it beforehand: one append to the output for the
// head and one for the body, instead of one per piece (this runs for every answer).
class HeadWriter {
 public:
  explicit HeadWriter(char* at) : at_(at) {}
  void put(std::string_view text) {
    if (text.empty()) return;  // its data() may be null, which memcpy must not get
    std::memcpy(at_, text.data(), text.size());
    at_ += text.size();
  }

 private:
  char* at_;
};

struct Number {
  char digits[24];
  std::size_t size;

  explicit Number(std::size_t value)
      : size(std::size_t(std::to_chars(digits, digits + sizeof digits, value).ptr - digits)) {}
  std::string_view text() const { return {digits, size}; }
};

constexpr std::string_view server_and_date = "\r\nServer: prefork\r\nDate: ";
constexpr std::string_view content_length = "\r\nContent-Length: ";
constexpr std::string_view content_type = "\r\nContent-Type: ";
constexpr std::string_view connection_close = "\r\nConnection: close";
constexpr std::string_view connection_keep_alive = "\r\nConnection: keep-alive";

std::string_view connection_line(const Framing& framing) {
  if (framing.close) return connection_close;
  return framing.keep_alive_header ? connection_keep_alive : std::string_view();
}

}  // namespace

void append_response(std::string& out, const Response& response, std::string_view date,
                     const Framing& framing) {
  Number status(std::size_t(response.status < 0 ? 0 : response.status));
  std::string_view reason = reason_phrase(response.status);
  std::string_view body = response.payload();
  bool bodyless = status_forbids_body(response.status);
  Number length(body.size());
  std::string_view connection = connection_line(framing);

  std::size_t size = 9 + status.size + 1 + reason.size() + server_and_date.size() + date.size() +
                     connection.size() + 4;
  if (!bodyless) size += content_length.size() + length.size;
  if (!response.content_type.empty()) size += content_type.size() + response.content_type.size();
  for (const auto& [name, value] : response.headers) {
    if (!is_framing_header(name)) size += 2 + name.size() + 2 + value.size();
  }

  std::size_t head_start = out.size();
  out.resize(head_start + size);
  HeadWriter head(out.data() + head_start);
  head.put("HTTP/1.1 ");
  head.put(status.text());
  head.put(" ");
  head.put(reason);
  head.put(server_and_date);
  head.put(date);
  if (!bodyless) {
    head.put(content_length);
    head.put(length.text());
  }
  if (!response.content_type.empty()) {
    head.put(content_type);
    head.put(response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (is_framing_header(name)) continue;
    head.put("\r\n");
    head.put(name);
    head.put(": ");
    head.put(value);
  }
  head.put(connection);
  head.put("\r\n\r\n");
  if (!bodyless && !framing.head_request) out.append(body);
}

void append_error(std::string& out, int status, std::string_view date) {
  Response response = Response::view(status, "text/plain; charset=utf-8", reason_phrase(status));
  Framing framing;
  framing.close = true;
  append_response(out, response, date, framing);
}

}  // namespace prefork::http
