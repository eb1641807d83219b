// The non-blocking connection on a libuv loop used to flush values: pipelined batches, AUTH and
// SELECT on every (re)connect, connect and command timeouts, reconnect with exponential backoff
// (100 ms doubling to 5 s). Nothing here ever blocks the loop or throws: failures are states.
// With sentinels or a cluster, each connect first asks them in turn where to write
// (topology.hpp); a reply saying that Redis serves it no longer (READONLY, MOVED, …) drops the
// connection to ask again, or to go where MOVED says.
// It owns its socket (net::TcpStream) and uses hiredis only as the protocol: commands formatted
// by redisFormatCommandArgv, replies parsed by a redisReader.
#pragma once

#include <hiredis/hiredis.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/uv_handle.hpp"
#include "net/stream.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/protocol.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {

class AsyncConnection {
 public:
  struct Events {
    std::function<void()> ready;  // connected, authenticated, database selected, identified
    std::function<void(const std::string& reason)> lost;  // each failed connect or disconnect
  };
  // Called once per batch: ok when every command got a non-error reply, else the first error.
  using BatchDone = std::function<void(const Status&)>;

  AsyncConnection(uv_loop_t* loop, RedisEndpoint endpoint, Events events);
  // Closes the connection; batches still in flight complete with an error. The loop must run
  // afterwards to release the libuv handles, as with any libuv handle.
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  bool is_ready() const { return state_ == State::ready; }
  // A connect or handshake is under way (not waiting out a backoff after a failure).
  bool is_connecting() const {
    return state_ == State::asking || state_ == State::connecting || state_ == State::handshaking;
  }
  const std::string& last_error() const { return last_error_; }
  // With sentinels or a cluster, host and port are those last asked or moved to.
  const RedisEndpoint& endpoint() const { return endpoint_; }
  // Redis' clock minus the local clock, measured at the last handshake.
  double clock_offset() const { return clock_offset_; }
  // Redis' CLIENT ID of this connection, read at the last handshake; 0 when Redis refuses
  // CLIENT (an ACL or a renamed command).
  long long client_id() const { return client_id_; }

  // Writes every command at once; done runs later, never from inside send(). False (and done
  // is never called) when the connection is not ready.
  bool send(const std::vector<Command>& commands, BatchDone done);

  static constexpr std::uint64_t first_backoff_ms = 100;
  static constexpr std::uint64_t max_backoff_ms = 5000;

 private:
  // asking: a sentinel or cluster node, where to write.
  enum class State { waiting, asking, connecting, handshaking, ready, closed };
  struct Batch;

  void start_connect();
  void open_stream(const std::string& host, int port);
  void on_connected();
  void ask_locator();
  void query_locator();
  void connect_to(const RedisHost& target);
  void schedule_reconnect(const std::string& reason);
  void begin_handshake();
  void read_clock(const redisReply* reply);
  void identify();
  void become_ready();
  void drop_connection(const std::string& reason);
  void fail_waiting();
  void arm_command_watchdog();
  void on_watchdog();
  void on_bytes(std::string_view bytes);
  void on_reply(Batch* batch, const redisReply* reply);
  void write(const std::vector<Command>& commands, Batch* batch);

  uv_loop_t* loop_;
  RedisEndpoint endpoint_;
  Events events_;
  std::unique_ptr<net::Stream> stream_;  // plain or TLS; null while waiting to reconnect
  RespReader reader_;
  std::deque<Batch*> waiting_;    // the batch of each command sent, in the order replies come
  std::uint64_t connection_ = 0;  // counts connections, so that a handler can tell it changed
  UvTimer retry_timer_;           // backoff before a reconnect, then the connect deadline
  UvTimer watchdog_timer_;        // command timeout
  State state_ = State::waiting;
  std::uint64_t backoff_ms_ = first_backoff_ms;
  std::uint64_t last_progress_ms_ = 0;
  double clock_offset_ = 0;
  long long client_id_ = 0;
  std::string last_error_;
  std::size_t locator_ = 0;            // the sentinel or cluster node being asked
  std::optional<RedisHost> asked_;     // its answer
  std::optional<RedisHost> redirect_;  // where the last MOVED pointed: the next connect's
  std::string role_;                   // ROLE at the last handshake (with sentinels)
  std::string moved_;  // the reply saying this Redis serves it no longer: drop after it
};

}  // namespace prefork::storage
