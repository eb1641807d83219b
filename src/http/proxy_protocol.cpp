#include "http/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace prefork::http {
namespace {

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed = 16;  // signature, version/command, family, length

ProxyHeader outcome(ProxyHeader::Outcome value) {
  ProxyHeader header;
  header.outcome = value;
  return header;
}

// bytes is a prefix of text, or text a prefix of bytes.
bool agrees(std::string_view bytes, std::string_view text) {
  std::size_t n = std::min(bytes.size(), text.size());
  return bytes.substr(0, n) == text.substr(0, n);
}

// One space-separated word of the line; empty when there is none.
std::string_view next_word(std::string_view& line) {
  std::size_t space = line.find(' ');
  std::string_view word = line.substr(0, space);
  line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  return word;
}

bool parse_address(std::string_view text, int family, std::uint8_t* bytes) {
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return inet_pton(family, buffer, bytes) == 1;
}

// Decimal 0..65535, as the specification writes ports.
bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + std::uint32_t(c - '0');
  }
  if (value > 65535) return false;
  port = std::uint16_t(value);
  return true;
}

ProxyHeader parse_v1(std::string_view bytes) {
  std::size_t end = bytes.find('\r');
  if (end == std::string_view::npos) {
    // No line end yet: a line feed alone, or a line longer than allowed, is no header.
    if (bytes.find('\n') != std::string_view::npos) return outcome(ProxyHeader::Outcome::malformed);
    if (bytes.size() >= max_proxy_header_v1) return outcome(ProxyHeader::Outcome::malformed);
    return outcome(ProxyHeader::Outcome::need_more);
  }
  if (end + 2 > max_proxy_header_v1) return outcome(ProxyHeader::Outcome::malformed);
  if (end + 1 == bytes.size()) return outcome(ProxyHeader::Outcome::need_more);
  if (bytes[end + 1] != '\n') return outcome(ProxyHeader::Outcome::malformed);
  std::string_view line = bytes.substr(v1_prefix.size(), end - v1_prefix.size());
  if (line.find('\n') != std::string_view::npos) return outcome(ProxyHeader::Outcome::malformed);

  ProxyHeader header;
  header.outcome = ProxyHeader::Outcome::done;
  header.consumed = end + 2;
  std::string_view protocol = next_word(line);
  // "UNKNOWN": the sender cannot say (another protocol, health checks); whatever follows on
  // the line is ignored, as the specification asks.
  if (protocol == "UNKNOWN") return header;
  int family;
  if (protocol == "TCP4") {
    family = AF_INET;
  } else if (protocol == "TCP6") {
    family = AF_INET6;
  } else {
    return outcome(ProxyHeader::Outcome::malformed);
  }
  std::uint8_t destination[16];
  std::uint16_t destination_port;
  if (!parse_address(next_word(line), family, header.address.data()) ||
      !parse_address(next_word(line), family, destination) ||
      !parse_port(next_word(line), header.port) || line.find(' ') != std::string_view::npos ||
      !parse_port(line, destination_port)) {
    return outcome(ProxyHeader::Outcome::malformed);
  }
  header.family = family;
  header.has_source = true;
  return header;
}

ProxyHeader parse_v2(std::string_view bytes) {
  if (bytes.size() < v2_fixed) return outcome(ProxyHeader::Outcome::need_more);
  auto byte = [&](std::size_t at) { return std::uint8_t(bytes[at]); };
  std::uint8_t version = byte(12) >> 4, command = byte(12) & 0x0f;
  if (version != 2 || command > 1) return outcome(ProxyHeader::Outcome::malformed);
  std::size_t length = std::size_t(byte(14)) << 8 | byte(15);
  if (v2_fixed + length > max_proxy_header_v2) return outcome(ProxyHeader::Outcome::malformed);
  if (bytes.size() < v2_fixed + length) return outcome(ProxyHeader::Outcome::need_more);

  ProxyHeader header;
  header.outcome = ProxyHeader::Outcome::done;
  header.consumed = v2_fixed + length;
  if (command == 0) return header;  // LOCAL: the proxy's own connection (a health check)
  std::uint8_t family = byte(13) >> 4, transport = byte(13) & 0x0f;
  if (family == 0) return header;  // AF_UNSPEC: no addresses
  // Only a stream (1) carries HTTP: a datagram flow's addresses, or an unknown family, cannot.
  if (family > 3 || transport != 1) return outcome(ProxyHeader::Outcome::malformed);
  const char* addresses = bytes.data() + v2_fixed;
  if (family == 1) {  // TCP over IPv4: source, destination, source port, destination port
    if (length < 12) return outcome(ProxyHeader::Outcome::malformed);
    header.family = AF_INET;
    std::memcpy(header.address.data(), addresses, 4);
    header.port = std::uint16_t(byte(v2_fixed + 8) << 8 | byte(v2_fixed + 9));
  } else if (family == 2) {  // TCP over IPv6
    if (length < 36) return outcome(ProxyHeader::Outcome::malformed);
    header.family = AF_INET6;
    std::memcpy(header.address.data(), addresses, 16);
    header.port = std::uint16_t(byte(v2_fixed + 32) << 8 | byte(v2_fixed + 33));
  } else {  // AF_UNIX: two 108-byte paths, no address to report
    if (length < 216) return outcome(ProxyHeader::Outcome::malformed);
    return header;
  }
  header.has_source = true;
  return header;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return outcome(ProxyHeader::Outcome::need_more);
  if (bytes.front() == 'P') {
    if (!agrees(bytes, v1_prefix)) return outcome(ProxyHeader::Outcome::malformed);
    if (bytes.size() <= v1_prefix.size()) return outcome(ProxyHeader::Outcome::need_more);
    return parse_v1(bytes);
  }
  if (!agrees(bytes, v2_signature)) return outcome(ProxyHeader::Outcome::malformed);
  return parse_v2(bytes);
}

ProxySniff sniff_proxy_header(std::string_view bytes) {
  for (std::string_view start : {v1_prefix, v2_signature}) {
    if (!agrees(bytes, start)) continue;
    return bytes.size() >= start.size() ? ProxySniff::yes : ProxySniff::maybe;
  }
  return ProxySniff::no;
}

}  // namespace prefork::http
