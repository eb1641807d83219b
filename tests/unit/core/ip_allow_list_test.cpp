// forwarded_allow_ips / proxy_allow_ips: "*", addresses and CIDR networks, as gunicorn takes them.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include "core/ip_allow_list.hpp"

using prefork::IpAllowList;

namespace {

IpAllowList list_of(std::string_view text) {
  prefork::Result<IpAllowList> parsed = IpAllowList::parse(text);
  INFO(parsed.message());
  REQUIRE(parsed.ok());
  return parsed.value();
}

std::string error_of(std::string_view text) {
  prefork::Result<IpAllowList> parsed = IpAllowList::parse(text);
  CHECK_FALSE(parsed.ok());
  return parsed.message();
}

}  // namespace

TEST_CASE("the default list trusts the loopback addresses only") {
  IpAllowList list = list_of("127.0.0.1,::1");
  CHECK(list.allows("127.0.0.1"));
  CHECK(list.allows("::1"));
  CHECK_FALSE(list.allows("127.0.0.2"));
  CHECK_FALSE(list.allows("10.0.0.1"));
  CHECK_FALSE(list.allows("::2"));
  CHECK_FALSE(list.allows("localhost"));
  CHECK_FALSE(list.allows(""));
  CHECK(list.text() == "127.0.0.1,::1");
}

TEST_CASE("* trusts everyone") {
  IpAllowList list = list_of("*");
  CHECK(list.allows_all());
  CHECK(list.allows("203.0.113.9"));
  CHECK(list.allows("2001:db8::1"));
}

TEST_CASE("CIDR networks, IPv4 and IPv6, at any prefix length") {
  IpAllowList list = list_of(" 10.0.0.0/8 , 192.168.1.128/25,2001:db8::/32, 172.16.0.0/12");
  CHECK(list.allows("10.255.1.2"));
  CHECK_FALSE(list.allows("11.0.0.1"));
  CHECK(list.allows("192.168.1.128"));
  CHECK(list.allows("192.168.1.255"));
  CHECK_FALSE(list.allows("192.168.1.127"));
  CHECK(list.allows("172.31.255.255"));
  CHECK_FALSE(list.allows("172.32.0.0"));
  CHECK(list.allows("2001:db8:ffff::1"));
  CHECK_FALSE(list.allows("2001:db9::1"));
  CHECK(list.text() == "10.0.0.0/8,192.168.1.128/25,2001:db8::/32,172.16.0.0/12");
  CHECK(list_of("0.0.0.0/0").allows("8.8.8.8"));
  CHECK_FALSE(list_of("0.0.0.0/0").allows("::1"));
  CHECK(list_of("::/0").allows("::1"));
  CHECK(list_of("1.2.3.4/32").allows("1.2.3.4"));
}

TEST_CASE("an IPv4-mapped IPv6 peer (a dual-stack listener) matches its IPv4 entry") {
  IpAllowList list = list_of("127.0.0.1,10.0.0.0/8");
  CHECK(list.allows("::ffff:127.0.0.1"));
  CHECK(list.allows("::ffff:10.9.8.7"));
  CHECK_FALSE(list.allows("::ffff:11.0.0.1"));
  CHECK(list_of("::ffff:10.0.0.0/104").allows("10.1.2.3"));
}

TEST_CASE("socket addresses") {
  IpAllowList list = list_of("127.0.0.1,::1");
  sockaddr_in in4{};
  in4.sin_family = AF_INET;
  in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(list.allows(reinterpret_cast<const sockaddr*>(&in4)));
  in4.sin_addr.s_addr = htonl(0x0a000001);
  CHECK_FALSE(list.allows(reinterpret_cast<const sockaddr*>(&in4)));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_addr = in6addr_loopback;
  CHECK(list.allows(reinterpret_cast<const sockaddr*>(&in6)));
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  CHECK_FALSE(list.allows(&unix_address));
}

TEST_CASE("an empty list trusts nobody") {
  IpAllowList list = list_of("");
  CHECK_FALSE(list.allows("127.0.0.1"));
  CHECK(list.text().empty());
  CHECK_FALSE(IpAllowList().allows("127.0.0.1"));
}

TEST_CASE("bad entries are refused, naming them") {
  CHECK(error_of("127.0.0.1,10.0.0.300") ==
        "expected \"*\", an IP address or a CIDR network (ADDRESS/BITS), got \"10.0.0.300\"");
  CHECK(error_of("example.com").find("\"example.com\"") != std::string::npos);
  CHECK(error_of("10.0.0.0/33") == "bad network \"10.0.0.0/33\": the prefix length must be 0..32");
  CHECK(error_of("2001:db8::/129").find("0..128") != std::string::npos);
  CHECK(error_of("10.0.0.0/").find("prefix length") != std::string::npos);
  CHECK(error_of("10.0.0.0/x").find("prefix length") != std::string::npos);
  CHECK(error_of("10.0.0.0/-1").find("prefix length") != std::string::npos);
  // As Python's ip_network: host bits set is a mistake (10.0.0.0/8 was meant).
  CHECK(error_of("10.0.0.1/8") == "bad network \"10.0.0.1/8\": it has host bits set");
  CHECK(error_of("[::1]").find("[::1]") != std::string::npos);
}
