#include "storage/redis/endpoint.hpp"

namespace prefork::storage {

RedisEndpoint resolve_endpoint(const config::Redis& redis) {
  RedisEndpoint endpoint;
  endpoint.host = redis.host;
  endpoint.port = redis.port;
  endpoint.db = redis.db;
  endpoint.password = redis.password;
  endpoint.connect_timeout = redis.connect_timeout;
  endpoint.command_timeout = redis.command_timeout;
  return endpoint;
}

}  // namespace prefork::storage
