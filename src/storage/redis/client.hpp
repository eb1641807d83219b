// RedisStorageClient: the seed's client, one blocking connection for startup, cleanup and
// collection, plus (once attached to a libuv loop) one non-blocking connection for flushing.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "storage/redis/async_connection.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/sync_connection.hpp"

namespace prefork::storage {

class RedisStorageClient {
 public:
  // Does not connect yet; connect() or the first command does. An endpoint with TLS only
  // ever connects over TLS: there is no plaintext fallback.
  explicit RedisStorageClient(RedisEndpoint endpoint);
  virtual ~RedisStorageClient();

  const RedisEndpoint& endpoint() const { return sync_.endpoint(); }

  // Throws RedisConnectionError, RedisTimeoutError or RedisAuthenticationError.
  void connect() { sync_.connect(); }
  // PING; false instead of throwing.
  virtual bool ping();
  bool is_connected() const { return sync_.is_connected(); }
  // In a forked child: closes the blocking connection's socket, which is the parent's, and
  // touches nothing else (the child never uses this client, and frees nothing of the parent).
  void close_in_child() const;
  std::uint64_t connections() const { return sync_.connections(); }

  Reply command(const Command& command) { return sync_.command(command); }
  std::vector<Reply> pipeline(const std::vector<Command>& commands) {
    return sync_.pipeline(commands);
  }
  std::vector<Reply> pipeline(std::initializer_list<std::string_view> parts, std::size_t replies) {
    return sync_.pipeline(parts, replies);
  }
  double server_time() { return sync_.server_time(); }

  // Starts the non-blocking connection on loop (replacing an earlier one).
  AsyncConnection& attach(uv_loop_t* loop, AsyncConnection::Events events);
  AsyncConnection* async() { return async_.get(); }
  void detach() { async_.reset(); }

 private:
  SyncConnection sync_;
  std::unique_ptr<AsyncConnection> async_;
};

}  // namespace prefork::storage
