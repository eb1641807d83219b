#include "storage/redis/sentinel.hpp"

#include "storage/redis/reply.hpp"

namespace prefork::storage {

RedisEndpoint sentinel_endpoint(const RedisEndpoint& redis, const RedisHost& sentinel) {
  RedisEndpoint endpoint;
  endpoint.host = sentinel.host;
  endpoint.port = sentinel.port;
  endpoint.password = redis.sentinel_password;
  endpoint.connect_timeout = redis.connect_timeout;
  endpoint.command_timeout = redis.command_timeout;
  endpoint.tls = redis.tls;
  return endpoint;
}

Command master_address_query(const RedisEndpoint& redis) {
  return {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", redis.sentinel_master};
}

std::optional<RedisHost> master_address(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
    return std::nullopt;
  std::string_view host = reply_text(reply->element[0]);
  std::optional<int> port = parse_port(reply_text(reply->element[1]));
  if (host.empty() || !port) return std::nullopt;
  return RedisHost{std::string(host), *port};
}

std::string role_of(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return "";
  const redisReply* role = reply->element[0];
  if (role->type != REDIS_REPLY_STRING && role->type != REDIS_REPLY_STATUS) return "";
  return std::string(reply_text(role));
}

bool is_readonly_error(const redisReply* reply) {
  return reply_is_error(reply) && reply_text(reply).starts_with("READONLY");
}

}  // namespace prefork::storage
