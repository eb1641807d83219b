// The PROXY protocol header (HAProxy's send-proxy / send-proxy-v2) that a trusted load balancer
// puts before the first HTTP byte of a connection: who the client is. Version 1 is a text line,
// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" (at most 107 bytes); version 2 a 12-byte
// signature, a version/command byte, a family byte, a length and the addresses, then TLVs,
// which are skipped. Specification: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace prefork::http {

// A v2 header longer than this (addresses and TLVs) is refused; senders use a few hundred bytes.
inline constexpr std::size_t max_proxy_header_v2 = 4096;
inline constexpr std::size_t max_proxy_header_v1 = 107;

struct ProxyHeader {
  enum class Outcome {
    need_more,  // a valid start: read more bytes
    done,       // a whole header of `consumed` bytes
    malformed,  // not a PROXY header, or a broken one: close the connection
  };
  Outcome outcome = Outcome::need_more;
  std::size_t consumed = 0;
  // done: false for v1 UNKNOWN, v2 LOCAL and v2 families without an IP address (AF_UNSPEC,
  // AF_UNIX): the connection's own peer stays.
  bool has_source = false;
  int family = 0;                          // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> address{};  // network byte order; 4 bytes for AF_INET
  std::uint16_t port = 0;
};

// Reads a header of either version from the connection's first bytes; whatever follows it
// (the HTTP request) is left alone. Each call reads from the start: bytes may arrive one by one.
ProxyHeader parse_proxy_header(std::string_view bytes);

// For a peer that may not send a header: do its first bytes start one?
enum class ProxySniff { no, maybe, yes };  // maybe: too few bytes to tell
ProxySniff sniff_proxy_header(std::string_view bytes);

}  // namespace prefork::http
