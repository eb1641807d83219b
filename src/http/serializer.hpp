// Writes responses into a connection's output buffer.
#pragma once

#include <prefork/response.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace prefork::http {

struct Framing {
  bool head_request = false;       // HEAD: Content-Length of the body, but no body
  bool close = false;              // adds "Connection: close"
  bool keep_alive_header = false;  // HTTP/1.0 client that asked for keep-alive
};

// Appends status line, Server, Date, Content-Length, Content-Type, the user's headers (minus
// the framing ones the server owns), Connection, and the body.
void append_response(std::string& out, const Response& response, std::string_view date,
                     const Framing& framing);

// How a streamed body is delimited: by the Content-Length of the head, by chunked
// transfer-encoding (HTTP/1.1), or by the end of the connection (an HTTP/1.0 client; the head's
// framing must then close).
enum class Transfer : std::uint8_t { length, chunked, until_close };

// The head of a streamed answer, as append_response writes it but with the framing header of
// transfer (length: Content-Length: length; none for until_close or a status that forbids a
// body). The head's body is not written.
void append_stream_head(std::string& out, const Response& head, std::string_view date,
                        const Framing& framing, Transfer transfer, std::size_t length = 0);

// One chunk of a chunked body: its size in hex, CRLF, the data, CRLF. Nothing for empty data,
// whose chunk would end the body.
void append_chunk(std::string& out, std::string_view data);

// Ends a chunked body (no trailers).
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// The answer to a bad request: a short text body, always closing.
void append_error(std::string& out, int status, std::string_view date);

inline constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace prefork::http
