// What a trusted front end says about a request in its headers (forwarded_allow_ips): the
// scheme the client used (secure_scheme_headers, as gunicorn reads them) and the client's
// address (the right-most X-Forwarded-For entry, the one the front end appended).
#pragma once

#include <span>
#include <string_view>

#include "config/config.hpp"
#include "http/parser.hpp"

namespace prefork::http {

struct Forwarded {
  // Secure scheme headers that disagree ("X-Forwarded-Proto: http" with "X-Forwarded-Ssl:
  // on"): the request is refused with 400, as gunicorn's InvalidSchemeHeaders.
  bool conflict = false;
  bool scheme_header = false;  // one of secure_scheme_headers was present
  bool https = false;          // ... with its secure value
  // The right-most X-Forwarded-For address, when it is an IP address; empty otherwise.
  std::string_view client;
};

// buffer: where message was parsed (field offsets are relative to buffer + message.start).
// Only for a peer in forwarded_allow_ips; nothing here checks that.
Forwarded read_forwarded(const Message& message, const char* buffer,
                         std::span<const config::SchemeHeader> scheme_headers);

// "203.0.113.7" → "203.0.113.7:0", "2001:db8::1" → "[2001:db8::1]:0", in Request::peer()'s
// form; port 0 as the header carries none. Returns the length written (0 if out is too small).
std::size_t format_forwarded_peer(std::string_view client, char* out, std::size_t size);

}  // namespace prefork::http
