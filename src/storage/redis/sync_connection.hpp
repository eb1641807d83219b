// The blocking connection used at startup, for cleanup and by the collector: connect and command
// timeouts, AUTH and SELECT on every (re)connect, one reconnect attempt per failed call. It
// owns its socket (net::BlockingSocket, which lets the master fork while it waits) and uses
// hiredis only as the protocol: commands formatted by redisFormatCommandArgv, replies parsed
// by a redisReader. With sentinels or a cluster each connect first asks where to write
// (topology.hpp); a reply saying that Redis serves it no longer disconnects, so that the
// caller's retry asks again (or goes where MOVED says).
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/blocking_socket.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/protocol.hpp"
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
  bool is_connected() const { return socket_.is_open(); }
  // The socket's descriptor, -1 when closed: what a forked child closes (Backend::close_in_child).
  int fd() const { return socket_.fd(); }
  void disconnect();
  // How many connections were made so far: a new number means a server that may have lost
  // what was written before (restarted empty, or a replica promoted before it had it all).
  std::uint64_t connections() const { return connections_; }

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
  void start_tls();
  void authenticate_and_select();
  RedisHost ask_locators();
  void require_master();
  void check_still_served(const redisReply* reply);
  void check_still_served(const std::vector<Reply>& replies);
  [[noreturn]] void fail(const char* doing, const Status& status);
  void send(std::string_view bytes, std::int64_t deadline);
  Reply read_reply(std::int64_t deadline);
  Reply execute(const Command& command);
  std::vector<Reply> execute_pipeline(const std::vector<Command>& commands);
  std::vector<Reply> execute_pipeline(std::initializer_list<std::string_view> parts,
                                      std::size_t replies);
  std::vector<Reply> read_replies(std::size_t count, std::int64_t deadline);

  std::int64_t deadline() const;

  RedisEndpoint endpoint_;
  net::BlockingSocket socket_;
  RespReader reader_;
  std::uint64_t connections_ = 0;
  // On this connection: the TLS handshake finished; a reply came (the server accepted us).
  bool secured_ = false;
  bool answered_ = false;
  std::optional<RedisHost> redirect_;  // where the last MOVED pointed: the next connect's
};

double local_time();
timeval to_timeval(double seconds);

}  // namespace prefork::storage
