#include "core/ip_allow_list.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "core/text.hpp"

namespace prefork {
namespace {

// ::ffff:a.b.c.d carries an IPv4 address.
bool is_v4_mapped(const std::uint8_t* bytes) {
  static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes, prefix, sizeof prefix) == 0;
}

}  // namespace

bool parse_ip(std::string_view text, int& family, std::uint8_t* bytes) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (inet_pton(AF_INET, buffer, bytes) == 1) {
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, buffer, bytes) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

Result<IpAllowList> IpAllowList::parse(std::string_view text) {
  IpAllowList list;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view entry = trim_white_space(text.substr(0, comma));
    if (!entry.empty()) {
      if (Status status = list.add(entry); !status.ok()) return status;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return list;
}

Status IpAllowList::add(std::string_view entry) {
  entry = trim_white_space(entry);
  std::string written(entry);
  if (entry == "*") {
    all_ = true;
  } else {
    Network network;
    std::size_t slash = entry.find('/');
    if (!parse_ip(entry.substr(0, slash), network.family, network.bytes.data())) {
      return Status::error(
          "expected \"*\", an IP address or a CIDR network (ADDRESS/BITS), got \"" + written +
          "\"");
    }
    int bits = network.family == AF_INET ? 32 : 128;
    network.prefix = bits;
    if (slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      int prefix = -1;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
          prefix < 0 || prefix > bits) {
        return Status::error("bad network \"" + written + "\": the prefix length must be 0.." +
                             std::to_string(bits));
      }
      network.prefix = prefix;
      // As Python's ip_network (strict) does, host bits must be zero: 10.0.0.1/8 is a typo.
      for (int bit = prefix; bit < bits; ++bit) {
        if (network.bytes[std::size_t(bit / 8)] & (0x80 >> (bit % 8))) {
          return Status::error("bad network \"" + written + "\": it has host bits set");
        }
      }
    }
    if (network.family == AF_INET6 && is_v4_mapped(network.bytes.data()) && network.prefix >= 96) {
      std::memmove(network.bytes.data(), network.bytes.data() + 12, 4);
      network.family = AF_INET;
      network.prefix -= 96;
    }
    networks_.push_back(network);
  }
  text_ += (text_.empty() ? "" : ",") + written;
  return {};
}

bool IpAllowList::allows(int family, const std::uint8_t* bytes) const {
  if (all_) return true;
  if (family == AF_INET6 && is_v4_mapped(bytes)) {
    family = AF_INET;
    bytes += 12;
  }
  for (const Network& network : networks_) {
    if (network.family != family) continue;
    int whole = network.prefix / 8;
    if (std::memcmp(network.bytes.data(), bytes, std::size_t(whole)) != 0) continue;
    int rest = network.prefix % 8;
    if (rest != 0) {
      std::uint8_t mask = std::uint8_t(0xff << (8 - rest));
      if ((network.bytes[std::size_t(whole)] & mask) != (bytes[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

bool IpAllowList::allows(const sockaddr* address) const {
  if (all_) return true;
  if (address->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    return allows(AF_INET, reinterpret_cast<const std::uint8_t*>(&in4->sin_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return allows(AF_INET6, reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr));
  }
  return false;
}

bool IpAllowList::allows(std::string_view ip) const {
  if (all_) return true;
  int family = 0;
  std::uint8_t bytes[16];
  return parse_ip(ip, family, bytes) && allows(family, bytes);
}

}  // namespace prefork
