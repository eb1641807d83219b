#include "http/forwarded.hpp"

#include <cstring>

#include "core/ip_allow_list.hpp"
#include "core/text.hpp"

namespace prefork::http {
namespace {

constexpr std::string_view forwarded_for = "X-Forwarded-For";

}  // namespace

ForwardedReader::ForwardedReader(std::span<const config::SchemeHeader> scheme_headers)
    : scheme_headers_(scheme_headers) {
  name_lengths_ = std::uint64_t(1) << forwarded_for.size();
  for (const config::SchemeHeader& header : scheme_headers) {
    // Fields of 64 bytes and more are always read.
    if (header.name.size() < 64) name_lengths_ |= std::uint64_t(1) << header.name.size();
  }
}

Forwarded ForwardedReader::read(const Message& message, const char* buffer) const {
  Forwarded result;
  std::string_view last_forwarded_for;
  bool have_forwarded_for = false;
  const char* base = buffer + message.start;
  for (const FieldSpan& field : message.fields) {
    if (!may_be_read(field.name_length)) continue;
    std::string_view name(base + field.name_offset, field.name_length);
    std::string_view value(base + field.value_offset, field.value_length);
    if (name.size() == forwarded_for.size() && iequals(name, forwarded_for)) {
      last_forwarded_for = value;
      have_forwarded_for = true;
      continue;
    }
    for (const config::SchemeHeader& header : scheme_headers_) {
      if (name.size() != header.name.size() || !iequals(name, header.name)) continue;
      // gunicorn: the value must be exactly the configured one (case-sensitive).
      bool secure = trim_white_space(value) == header.value;
      if (result.scheme_header && secure != result.https) result.conflict = true;
      result.scheme_header = true;
      result.https = secure;
      break;
    }
  }
  if (have_forwarded_for) {
    std::size_t comma = last_forwarded_for.rfind(',');
    std::string_view client =
        trim_white_space(comma == std::string_view::npos ? last_forwarded_for
                                                         : last_forwarded_for.substr(comma + 1));
    int family;
    std::uint8_t bytes[16];
    if (parse_ip(client, family, bytes)) result.client = client;
  }
  return result;
}

std::size_t format_forwarded_peer(std::string_view client, char* out, std::size_t size) {
  bool v6 = client.find(':') != std::string_view::npos;
  std::size_t length = client.size() + (v6 ? 4 : 2);
  if (length > size) return 0;
  char* at = out;
  if (v6) *at++ = '[';
  std::memcpy(at, client.data(), client.size());
  at += client.size();
  if (v6) *at++ = ']';
  *at++ = ':';
  *at++ = '0';
  return length;
}

}  // namespace prefork::http
