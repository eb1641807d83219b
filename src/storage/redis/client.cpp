#include "storage/redis/client.hpp"

#include <unistd.h>

#include "storage/redis/errors.hpp"

namespace prefork::storage {

RedisStorageClient::RedisStorageClient(RedisEndpoint endpoint) : sync_(std::move(endpoint)) {}

RedisStorageClient::~RedisStorageClient() = default;

void RedisStorageClient::close_in_child() const {
  if (sync_.fd() >= 0) ::close(sync_.fd());
}

bool RedisStorageClient::ping() {
  try {
    return reply_text(sync_.command({"PING"}).get()) == "PONG";
  } catch (const RedisError&) {
    return false;
  }
}

AsyncConnection& RedisStorageClient::attach(uv_loop_t* loop, AsyncConnection::Events events) {
  async_.reset();
  async_ = std::make_unique<AsyncConnection>(loop, sync_.endpoint(), std::move(events));
  return *async_;
}

}  // namespace prefork::storage
