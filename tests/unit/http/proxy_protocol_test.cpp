// PROXY protocol headers, v1 and v2, built by hand: whole, cut at every byte, and broken.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <string>

#include "http/proxy_protocol.hpp"

using prefork::http::parse_proxy_header;
using prefork::http::ProxyHeader;
using prefork::http::ProxySniff;
using prefork::http::sniff_proxy_header;
using Outcome = ProxyHeader::Outcome;

namespace {

const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string address_text(const ProxyHeader& header) {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(header.family, header.address.data(), text, sizeof text);
  return text;
}

// A v2 header: version/command byte, family/transport byte, then the address block.
std::string v2(unsigned char version_command, unsigned char family, const std::string& block) {
  std::string header = signature;
  header += char(version_command);
  header += char(family);
  header += char(block.size() >> 8);
  header += char(block.size() & 0xff);
  return header + block;
}

std::string bytes(std::initializer_list<int> values) {
  std::string text;
  for (int value : values) text += char(value);
  return text;
}

// 192.0.2.1:56324 → 198.51.100.1:443
std::string v4_block() {
  return bytes({192, 0, 2, 1, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb});
}

// 2001:db8::7:1234 → 2001:db8::1:443
std::string v6_block() {
  std::string block = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  block += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  return block + bytes({0x04, 0xd2, 0x01, 0xbb});
}

// Every prefix of a header is need_more; the whole header (with the request after it) is done.
ProxyHeader parse_byte_by_byte(const std::string& header) {
  std::string input = header + request;
  for (std::size_t size = 0; size < header.size(); ++size) {
    CAPTURE(size);
    REQUIRE(parse_proxy_header(std::string_view(input).substr(0, size)).outcome ==
            Outcome::need_more);
  }
  for (std::size_t size = header.size(); size <= input.size(); ++size) {
    ProxyHeader parsed = parse_proxy_header(std::string_view(input).substr(0, size));
    CAPTURE(size);
    REQUIRE(parsed.outcome == Outcome::done);
    REQUIRE(parsed.consumed == header.size());
  }
  return parse_proxy_header(input);
}

Outcome outcome_of(const std::string& input) {
  return parse_proxy_header(input).outcome;
}

}  // namespace

TEST_CASE("v1 TCP4 gives the source address and port, at any split") {
  ProxyHeader header = parse_byte_by_byte("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n");
  CHECK(header.has_source);
  CHECK(header.family == AF_INET);
  CHECK(address_text(header) == "192.0.2.1");
  CHECK(header.port == 56324);
}

TEST_CASE("v1 TCP6") {
  ProxyHeader header = parse_byte_by_byte("PROXY TCP6 2001:db8::7 2001:db8::1 1234 443\r\n");
  CHECK(header.has_source);
  CHECK(header.family == AF_INET6);
  CHECK(address_text(header) == "2001:db8::7");
  CHECK(header.port == 1234);
}

TEST_CASE("v1 UNKNOWN keeps the connection's peer, with or without addresses after it") {
  CHECK_FALSE(parse_byte_by_byte("PROXY UNKNOWN\r\n").has_source);
  CHECK_FALSE(parse_byte_by_byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").has_source);
}

TEST_CASE("v1 at its longest, 107 bytes, is read; one byte more is refused") {
  std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  REQUIRE(longest.size() == 104);
  CHECK(parse_byte_by_byte(longest).port == 65535);
  std::string unknown = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n";
  REQUIRE(unknown.size() == 107);
  CHECK(parse_byte_by_byte(unknown).outcome == Outcome::done);
  CHECK(outcome_of("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n") == Outcome::malformed);
  // Without a line end, 107 bytes are enough to know.
  CHECK(outcome_of("PROXY UNKNOWN " + std::string(93, 'x')) == Outcome::malformed);
  CHECK(outcome_of("PROXY UNKNOWN " + std::string(92, 'x')) == Outcome::need_more);
}

TEST_CASE("malformed v1 headers") {
  for (std::string bad : {
           "GET / HTTP/1.1\r\n",
           "PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
           "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
           "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
           "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
           "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
           "PROXY TCP4 ::1 ::1 1 2\r\n",
           "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
           "PROXY \r\n",
           "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
       }) {
    CAPTURE(bad);
    CHECK(outcome_of(bad + request) == Outcome::malformed);
  }
  // A wrong first byte is known at once, not after 107 bytes.
  CHECK(outcome_of("G") == Outcome::malformed);
  CHECK(outcome_of("PRI") == Outcome::malformed);
}

TEST_CASE("v2 PROXY over TCP/IPv4, at any split") {
  ProxyHeader header = parse_byte_by_byte(v2(0x21, 0x11, v4_block()));
  CHECK(header.has_source);
  CHECK(header.family == AF_INET);
  CHECK(address_text(header) == "192.0.2.1");
  CHECK(header.port == 56324);
}

TEST_CASE("v2 PROXY over TCP/IPv6") {
  ProxyHeader header = parse_byte_by_byte(v2(0x21, 0x21, v6_block()));
  CHECK(header.family == AF_INET6);
  CHECK(address_text(header) == "2001:db8::7");
  CHECK(header.port == 1234);
}

TEST_CASE("v2 TLVs after the addresses are skipped") {
  // PP2_TYPE_ALPN "h2", PP2_TYPE_AUTHORITY "example.com", a PP2_TYPE_NOOP of padding.
  std::string tlvs = bytes({0x01, 0x00, 0x02}) + "h2" + bytes({0x02, 0x00, 0x0b}) + "example.com" +
                     bytes({0x04, 0x00, 0x03, 0, 0, 0});
  ProxyHeader header = parse_byte_by_byte(v2(0x21, 0x11, v4_block() + tlvs));
  CHECK(header.consumed == 16 + 12 + tlvs.size());
  CHECK(address_text(header) == "192.0.2.1");
}

TEST_CASE("v2 LOCAL (the proxy's own health check) keeps the connection's peer") {
  CHECK_FALSE(parse_byte_by_byte(v2(0x20, 0x00, "")).has_source);
  // LOCAL with addresses anyway: they are ignored.
  ProxyHeader header = parse_byte_by_byte(v2(0x20, 0x11, v4_block()));
  CHECK_FALSE(header.has_source);
  CHECK(header.consumed == 28);
}

TEST_CASE("v2 PROXY without an IP address: AF_UNSPEC and AF_UNIX keep the connection's peer") {
  CHECK_FALSE(parse_byte_by_byte(v2(0x21, 0x00, "")).has_source);
  CHECK_FALSE(parse_byte_by_byte(v2(0x21, 0x31, std::string(216, '\0'))).has_source);
}

TEST_CASE("malformed v2 headers") {
  CHECK(outcome_of(v2(0x11, 0x11, v4_block())) == Outcome::malformed);  // version 1
  CHECK(outcome_of(v2(0x31, 0x11, v4_block())) == Outcome::malformed);  // version 3
  CHECK(outcome_of(v2(0x22, 0x11, v4_block())) == Outcome::malformed);  // command 2
  CHECK(outcome_of(v2(0x21, 0x12, v4_block())) == Outcome::malformed);  // UDP
  CHECK(outcome_of(v2(0x21, 0x41, v4_block())) == Outcome::malformed);  // family 4
  CHECK(outcome_of(v2(0x21, 0x13, v4_block())) == Outcome::malformed);  // transport 3
  CHECK(outcome_of(v2(0x21, 0x11, v4_block().substr(0, 11))) == Outcome::malformed);
  CHECK(outcome_of(v2(0x21, 0x21, v6_block().substr(0, 35))) == Outcome::malformed);
  CHECK(outcome_of(v2(0x21, 0x31, std::string(215, '\0'))) == Outcome::malformed);
  // A signature with one byte wrong.
  std::string broken = v2(0x21, 0x11, v4_block());
  broken[10] = 'X';
  CHECK(outcome_of(broken) == Outcome::malformed);
  CHECK(outcome_of(std::string("\r\n\r\n\0\r\nQUIX", 11)) == Outcome::malformed);
  // Longer than anyone sends: refused from its fixed part, without waiting for the rest.
  std::string huge = v2(0x21, 0x11, v4_block() + std::string(5000, '\0'));
  CHECK(outcome_of(huge.substr(0, 16)) == Outcome::malformed);
  std::string largest = v2(0x21, 0x11, v4_block() + std::string(4096 - 16 - 12, '\0'));
  CHECK(parse_proxy_header(largest).outcome == Outcome::done);
}

TEST_CASE("sniffing: does a peer that must not send a header start one?") {
  CHECK(sniff_proxy_header("") == ProxySniff::maybe);
  CHECK(sniff_proxy_header("P") == ProxySniff::maybe);
  CHECK(sniff_proxy_header("PROXY") == ProxySniff::maybe);
  CHECK(sniff_proxy_header("PROXY ") == ProxySniff::yes);
  CHECK(sniff_proxy_header("PROXY TCP4 1.2.3.4") == ProxySniff::yes);
  CHECK(sniff_proxy_header("POST / HTTP/1.1\r\n") == ProxySniff::no);
  CHECK(sniff_proxy_header("PUT") == ProxySniff::no);
  CHECK(sniff_proxy_header("GET / HTTP/1.1\r\n") == ProxySniff::no);
  CHECK(sniff_proxy_header("\r\n") == ProxySniff::maybe);
  CHECK(sniff_proxy_header("\r\nGET / HTTP/1.1\r\n") == ProxySniff::no);
  CHECK(sniff_proxy_header(signature.substr(0, 11)) == ProxySniff::maybe);
  CHECK(sniff_proxy_header(signature) == ProxySniff::yes);
}
