// The blocking connection used at startup, for cleanup and by the collector: connect and command
// timeouts, AUTH and SELECT on every (re)connect, one reconnect attempt per failed call.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "storage/redis/endpoint.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {

class SyncConnection {
 public:
  explicit SyncConnection(RedisEndpoint endpoint);
  ~SyncConnection();
  SyncConnection(const SyncConnection&) = delete;
  SyncConnection& operator=(const SyncConnection&) = delete;

  // Connects (or reconnects) now; throws RedisConnectionError, RedisTimeoutError or
  // RedisAuthenticationError.
  void connect();
  bool is_connected() const { return context_ != nullptr; }
  void disconnect();

  // Runs one command; a Redis error reply throws RedisError (RedisAuthenticationError for
  // NOAUTH/WRONGPASS). A broken connection is reconnected once before giving up.
  Reply command(const Command& command);

  // Sends every command before reading any reply: one round trip. Error replies are returned,
  // not thrown, so callers can tell which command failed.
  std::vector<Reply> pipeline(const std::vector<Command>& commands);
  // The same for commands already in RESP (see append_command): parts are sent in order and
  // replies replies are read.
  std::vector<Reply> pipeline(std::initializer_list<std::string_view> parts, std::size_t replies);

  // Seconds since the epoch by Redis' clock (TIME), or the local clock when Redis cannot say.
  double server_time();

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  void ensure_connected();
  void authenticate_and_select();
  [[noreturn]] void fail(const char* doing);
  Reply execute(const Command& command);
  std::vector<Reply> execute_pipeline(const std::vector<Command>& commands);
  std::vector<Reply> execute_pipeline(std::initializer_list<std::string_view> parts,
                                      std::size_t replies);
  std::vector<Reply> read_replies(std::size_t count);

  RedisEndpoint endpoint_;
  redisContext* context_ = nullptr;
};

// Appends one command in RESP, as redisFormatCommandArgv would format it, for pipelines that
// are formatted once and sent many times.
void append_command(std::string& out, std::initializer_list<std::string_view> arguments);

double local_time();
timeval to_timeval(double seconds);

}  // namespace prefork::storage
