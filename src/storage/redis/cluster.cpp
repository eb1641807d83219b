#include "storage/redis/cluster.hpp"

#include <algorithm>
#include <string>

#include "storage/redis/reply.hpp"

namespace prefork::storage {
namespace {

// CRC16-CCITT in the XMODEM variant (polynomial 0x1021, initial value 0), one bit at a time:
// it runs once per connection, not per request.
std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc ^= std::uint16_t(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x8000) ? std::uint16_t((crc << 1) ^ 0x1021) : std::uint16_t(crc << 1);
  }
  return crc;
}

std::string_view hashed_part(std::string_view key) {
  std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

std::optional<long long> integer_of(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_INTEGER) return std::nullopt;
  return reply->integer;
}

std::optional<RedisHost> node_address(const redisReply* node, const RedisHost& asked) {
  if (node->type != REDIS_REPLY_ARRAY || node->elements < 2) return std::nullopt;
  std::optional<long long> number = integer_of(node->element[1]);
  if (!number || *number <= 0 || *number > 65535) return std::nullopt;
  std::string host(reply_text(node->element[0]));
  if (host.empty() || host == "?") host = asked.host;
  return RedisHost{std::move(host), int(*number)};
}

// "host:port" at the end of a MOVED or ASK error; IPv6 hosts keep their colons.
std::optional<RedisHost> address_at_end(std::string_view text) {
  std::size_t space = text.rfind(' ');
  std::size_t colon = text.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space)
    return std::nullopt;
  std::string_view host = text.substr(space + 1, colon - space - 1);
  std::optional<int> port = parse_port(text.substr(colon + 1));
  if (host.empty() || !port) return std::nullopt;
  return RedisHost{std::string(host), *port};
}

}  // namespace

int key_slot(std::string_view key) {
  return crc16(hashed_part(key)) % cluster_slots;
}

std::optional<RedisHost> slot_owner(const redisReply* reply, int slot, const RedisHost& asked) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
    std::optional<long long> first = integer_of(range->element[0]);
    std::optional<long long> last = integer_of(range->element[1]);
    if (first && last && *first <= slot && slot <= *last)
      return node_address(range->element[2], asked);
  }
  return std::nullopt;
}

std::vector<RedisHost> slot_masters(const redisReply* reply, const RedisHost& asked) {
  std::vector<RedisHost> masters;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return masters;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
    std::optional<RedisHost> master = node_address(range->element[2], asked);
    if (!master) continue;
    bool known = std::any_of(masters.begin(), masters.end(), [&](const RedisHost& host) {
      return host.host == master->host && host.port == master->port;
    });
    if (!known) masters.push_back(std::move(*master));
  }
  return masters;
}

std::optional<RedisHost> moved_to(const redisReply* reply) {
  if (!reply_is_error(reply) || !reply_text(reply).starts_with("MOVED ")) return std::nullopt;
  return address_at_end(reply_text(reply));
}

bool is_cluster_redirect(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
  std::string_view text = reply_text(reply);
  return text.starts_with("MOVED ") || text.starts_with("ASK ") || text.starts_with("TRYAGAIN") ||
         text.starts_with("CLUSTERDOWN");
}

}  // namespace prefork::storage
