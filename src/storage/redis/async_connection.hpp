// The non-blocking connection on a libuv loop used to flush values: pipelined batches, AUTH and
// SELECT on every (re)connect, connect and command timeouts, reconnect with exponential backoff
// (100 ms doubling to 5 s). Nothing here ever blocks the loop or throws: failures are states.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/uv_handle.hpp"
#include "storage/redis/endpoint.hpp"
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
  bool is_connecting() const { return state_ == State::connecting || state_ == State::handshaking; }
  const std::string& last_error() const { return last_error_; }
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
  enum class State { waiting, connecting, handshaking, ready, closed };
  struct Batch;

  void start_connect();
  void schedule_reconnect(const std::string& reason);
  void begin_handshake();
  void identify();
  void become_ready();
  void abandon_context(const std::string& reason);
  void arm_command_watchdog();
  void on_watchdog();
  void on_reply(Batch* batch, const redisReply* reply);
  bool queue(const Command& command, Batch* batch);

  static void connected_callback(const redisAsyncContext* context, int status);
  static void disconnected_callback(const redisAsyncContext* context, int status);
  static void reply_callback(redisAsyncContext* context, void* reply, void* privdata);

  uv_loop_t* loop_;
  RedisEndpoint endpoint_;
  Events events_;
  redisAsyncContext* context_ = nullptr;
  UvTimer retry_timer_;     // backoff before a reconnect, then the connect deadline
  UvTimer watchdog_timer_;  // command timeout
  State state_ = State::waiting;
  std::uint64_t backoff_ms_ = first_backoff_ms;
  std::size_t pending_replies_ = 0;
  std::uint64_t last_progress_ms_ = 0;
  double clock_offset_ = 0;
  long long client_id_ = 0;
  std::string last_error_;
};

}  // namespace prefork::storage
