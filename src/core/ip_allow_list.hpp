// Which peers are trusted as front ends (forwarded_allow_ips, proxy_allow_ips): "*", IP
// addresses and CIDR networks, as gunicorn writes them ("127.0.0.1,::1", "10.0.0.0/8").
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace prefork {

// An IPv4 or IPv6 address literal: its family (AF_INET, AF_INET6) and bytes (4 or 16, network
// byte order, into bytes[16]); false for anything else.
bool parse_ip(std::string_view text, int& family, std::uint8_t* bytes);

class IpAllowList {
 public:
  IpAllowList() = default;  // allows nobody
  // A comma-separated list (spaces around entries are ignored); an error names the bad entry.
  static Result<IpAllowList> parse(std::string_view text);
  // Adds one entry: "*", an IPv4 or IPv6 address, or ADDRESS/PREFIX.
  Status add(std::string_view entry);

  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1, a v4 client of a dual-stack listener)
  // matches as the IPv4 address it carries.
  bool allows(const sockaddr* address) const;
  // family AF_INET (4 bytes) or AF_INET6 (16 bytes), network byte order.
  bool allows(int family, const std::uint8_t* bytes) const;
  // An address literal; false for anything that is not one.
  bool allows(std::string_view ip) const;
  bool allows_all() const { return all_; }

  // The entries as written, comma-separated.
  const std::string& text() const { return text_; }
  bool operator==(const IpAllowList& other) const { return text_ == other.text_; }

 private:
  struct Network {
    int family = 0;  // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;  // leading bits that must match
  };
  bool all_ = false;
  std::vector<Network> networks_;
  std::string text_;
};

}  // namespace prefork
