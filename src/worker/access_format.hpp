// gunicorn's access log format ("%(h)s %(r)s %(s)s ..."), compiled once into literal text and
// atoms, then rendered into one line per request without allocating.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "worker/observer.hpp"

namespace prefork::worker {

class AccessFormat {
 public:
  enum class Atom {
    literal,
    remote_address,      // h
    timestamp,           // t
    request_line,        // r
    method,              // m
    path,                // U
    query,               // q
    protocol,            // H
    status,              // s
    body_bytes,          // B
    body_bytes_or_dash,  // b
    referer,             // f
    user_agent,          // a
    seconds,             // T
    milliseconds,        // M
    microseconds,        // D
    seconds_decimal,     // L
    request_header,      // {name}i
    response_header,     // {name}o
  };
  struct Part {
    Atom atom = Atom::literal;
    std::string text;  // the literal, or the header name in lower case
  };

  // Parses format; "%%" is a percent sign. The process id (p) and environment variables
  // ({name}e) are read now and become literal text. Unknown atoms print "-", as in gunicorn.
  // A malformed format is an error naming its offset.
  Status compile(std::string_view format);

  // Appends one line, newline included. timestamp: "[10/Oct/2000:13:55:36 +0000]".
  void append_line(std::string& out, const RequestRecord& record, std::string_view timestamp) const;

  const std::vector<Part>& parts() const { return parts_; }

 private:
  void add_literal(std::string_view text);
  void add_atom(std::string_view name);

  std::vector<Part> parts_;
};

// Formats time in local time as gunicorn's %(t)s does: "[10/Oct/2000:13:55:36 +0000]".
std::string format_timestamp(long seconds_since_epoch);

}  // namespace prefork::worker
