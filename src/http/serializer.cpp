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
constexpr std::string_view transfer_encoding_chunked = "\r\nTransfer-Encoding: chunked";
constexpr std::string_view connection_close = "\r\nConnection: close";
constexpr std::string_view connection_keep_alive = "\r\nConnection: keep-alive";

std::string_view connection_line(const Framing& framing) {
  if (framing.close) return connection_close;
  return framing.keep_alive_header ? connection_keep_alive : std::string_view();
}

// The head of every answer: status line, Server, Date, the framing header (framing_name and
// value: Content-Length, Transfer-Encoding, or none), Content-Type, the user's headers (minus
// the framing ones the server owns), Connection.
void append_head(std::string& out, const Response& response, std::string_view date,
                 std::string_view connection, std::string_view framing_name,
                 std::string_view framing_value) {
  Number status(std::size_t(response.status < 0 ? 0 : response.status));
  std::string_view reason = reason_phrase(response.status);

  std::size_t size = 9 + status.size + 1 + reason.size() + server_and_date.size() + date.size() +
                     framing_name.size() + framing_value.size() + connection.size() + 4;
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
  head.put(framing_name);
  head.put(framing_value);
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
}

}  // namespace

void append_response(std::string& out, const Response& response, std::string_view date,
                     const Framing& framing) {
  std::string_view body = response.payload();
  Number length(body.size());
  if (status_forbids_body(response.status)) {
    append_head(out, response, date, connection_line(framing), {}, {});
    return;
  }
  append_head(out, response, date, connection_line(framing), content_length, length.text());
  if (!framing.head_request) out.append(body);
}

void append_stream_head(std::string& out, const Response& head, std::string_view date,
                        const Framing& framing, Transfer transfer, std::size_t length) {
  Number digits(length);
  std::string_view name, value;
  if (!status_forbids_body(head.status)) {
    if (transfer == Transfer::length) {
      name = content_length;
      value = digits.text();
    } else if (transfer == Transfer::chunked) {
      name = transfer_encoding_chunked;
    }
  }
  append_head(out, head, date, connection_line(framing), name, value);
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char size[2 * sizeof(std::size_t) + 2];
  char* end = std::to_chars(size, size + sizeof size - 2, data.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(size, std::size_t(end - size));
  out.append(data);
  out.append("\r\n");
}

void append_error(std::string& out, int status, std::string_view date) {
  Response response = Response::view(status, "text/plain; charset=utf-8", reason_phrase(status));
  Framing framing;
  framing.close = true;
  append_response(out, response, date, framing);
}

}  // namespace prefork::http
