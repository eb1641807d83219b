// Writes responses into a connection's output buffer.
#pragma once

#include <prefork/response.hpp>

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

// The answer to a bad request: a short text body, always closing.
void append_error(std::string& out, int status, std::string_view date);

inline constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace prefork::http
