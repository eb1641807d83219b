// What a trusted front end says about a request in its headers (forwarded_allow_ips): the
// scheme the client used (secure_scheme_headers, as gunicorn reads them) and the client's
// address (the right-most X-Forwarded-For entry, the one the front end appended).
#pragma once

#include <cstdint>
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

// Reads Forwarded from a request of a peer in forwarded_allow_ips; nothing here checks that.
// Made once per worker: most fields of most requests are none of the names it looks for, and it
// passes over those by their length alone.
class ForwardedReader {
 public:
  explicit ForwardedReader(std::span<const config::SchemeHeader> scheme_headers);

  // False when no field of `message` can be one that read() looks for: most requests, told at
  // a shift and a test per field, inline on the request path.
  bool may_tell(const Message& message) const {
    for (const FieldSpan& field : message.fields) {
      if (may_be_read(field.name_length)) return true;
    }
    return false;
  }
  // buffer: where message was parsed (field offsets are relative to buffer + message.start).
  Forwarded read(const Message& message, const char* buffer) const;

 private:
  bool may_be_read(std::size_t name_length) const {
    return name_length >= 64 || (name_lengths_ >> name_length & 1) != 0;
  }

  std::span<const config::SchemeHeader> scheme_headers_;
  std::uint64_t name_lengths_ = 0;  // bit n: a name looked for is n bytes long (n < 64)
};

// "203.0.113.7" → "203.0.113.7:0", "2001:db8::1" → "[2001:db8::1]:0", in Request::peer()'s
// form; port 0 as the header carries none. Returns the length written (0 if out is too small).
std::size_t format_forwarded_peer(std::string_view client, char* out, std::size_t size);

}  // namespace prefork::http
