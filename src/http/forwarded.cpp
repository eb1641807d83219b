#include "http/forwarded.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "core/text.hpp"

namespace prefork::http {
namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_ip(std::string_view text, bool& v6) {
  char buffer[64];
  unsigned char bytes[16];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (inet_pton(AF_INET, buffer, bytes) == 1) {
    v6 = false;
    return true;
  }
  v6 = true;
  return inet_pton(AF_INET6, buffer, bytes) == 1;
}

}  // namespace

constexpr std::string_view forwarded_for = "X-Forwarded-For";

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
      bool secure = trimmed(value) == header.value;
      if (result.scheme_header && secure != result.https) result.conflict = true;
      result.scheme_header = true;
      result.https = secure;
      break;
    }
  }
  if (have_forwarded_for) {
    std::size_t comma = last_forwarded_for.rfind(',');
    std::string_view client =
        trimmed(comma == std::string_view::npos ? last_forwarded_for
                                                : last_forwarded_for.substr(comma + 1));
    bool v6;
    if (is_ip(client, v6)) result.client = client;
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
