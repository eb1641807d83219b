// gunicorn's access log format ("%(h)s %(r)s %(s)s ..."), compiled once into literal text and
// atoms, then rendered into one line per request without allocating: gunicorn's text, or a JSON
// object with every atom by name.
#pragma once

#include <optional>
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
    environment,         // {name}e
  };
  struct Part {
    Atom atom = Atom::literal;
    std::string text;  // the literal, the header name in lower case, or the variable's name
    std::optional<std::string> value =
        std::nullopt;  // environment: the variable's value, none when unset
  };

  // Parses format; "%%" is a percent sign. The process id (p) and environment variables
  // ({name}e) are read now. Unknown atoms print "-", as in gunicorn. A malformed format is an
  // error naming its offset.
  Status compile(std::string_view format);

  // Appends one line, newline included. timestamp: "[10/Oct/2000:13:55:36 +0000]".
  void append_line(std::string& out, const RequestRecord& record, std::string_view timestamp) const;
  // Appends one JSON object and a newline: time (RFC 3339), level, logger, pid, message (the
  // line append_line writes, without its newline), then the atoms by their JSON names, whatever
  // the format holds, and the format's header and environment atoms in objects of their own
  // (README, "Access log"). A value that is missing is null.
  void append_json(std::string& out, const RequestRecord& record, std::string_view time,
                   std::string_view message) const;

  const std::vector<Part>& parts() const { return parts_; }

 private:
  void add_literal(std::string_view text);
  void add_atom(std::string_view name);

  std::vector<Part> parts_;
  int pid_ = 0;  // the process that compiled the format, the worker
};

// Formats time in local time as gunicorn's %(t)s does: "[10/Oct/2000:13:55:36 +0000]".
std::string format_timestamp(long seconds_since_epoch);

}  // namespace prefork::worker
