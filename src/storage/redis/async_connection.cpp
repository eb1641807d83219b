#include "storage/redis/async_connection.hpp"

#include <hiredis/adapters/libuv.h>

#include <algorithm>
#include <cstdlib>

#include "storage/redis/sync_connection.hpp"

namespace prefork::storage {

struct AsyncConnection::Batch {
  std::size_t remaining = 0;
  bool ok = true;
  std::string first_error;
  BatchDone done;
  std::function<void(const redisReply*)> observe;  // sees every reply of the batch
};

namespace {

std::uint64_t milliseconds(double seconds) {
  return static_cast<std::uint64_t>(std::max(1.0, seconds * 1000));
}

}  // namespace

AsyncConnection::AsyncConnection(uv_loop_t* loop, RedisEndpoint endpoint, Events events)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      events_(std::move(events)),
      retry_timer_(loop, uv_timer_init),
      watchdog_timer_(loop, uv_timer_init) {
  retry_timer_->data = this;
  watchdog_timer_->data = this;
  start_connect();
}

AsyncConnection::~AsyncConnection() {
  state_ = State::closed;
  if (redisAsyncContext* context = context_) {
    context_ = nullptr;
    redisAsyncFree(context);
  }
}

void AsyncConnection::start_connect() {
  state_ = State::connecting;
  redisAsyncContext* context = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (context == nullptr) {
    schedule_reconnect("cannot allocate a Redis context");
    return;
  }
  if (context->err != 0 || redisLibuvAttach(context, loop_) != REDIS_OK) {
    std::string reason = context->err != 0 ? context->errstr : "cannot watch the socket";
    redisAsyncFree(context);
    schedule_reconnect(reason);
    return;
  }
  context->data = this;
  context_ = context;
  redisAsyncSetConnectCallback(context, connected_callback);
  redisAsyncSetDisconnectCallback(context, disconnected_callback);
  uv_timer_start(
      retry_timer_.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<AsyncConnection*>(timer->data);
        if (self->state_ == State::waiting) {
          self->start_connect();
        } else if (self->state_ == State::connecting || self->state_ == State::handshaking) {
          self->abandon_context("connecting timed out");
        }
      },
      milliseconds(endpoint_.connect_timeout), 0);
}

void AsyncConnection::schedule_reconnect(const std::string& reason) {
  state_ = State::waiting;
  last_error_ = reason;
  uv_timer_stop(watchdog_timer_.get());
  uv_timer_start(
      retry_timer_.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<AsyncConnection*>(timer->data);
        if (self->state_ == State::waiting) self->start_connect();
      },
      backoff_ms_, 0);
  backoff_ms_ = std::min(backoff_ms_ * 2, max_backoff_ms);
  if (events_.lost) events_.lost(reason);
}

// Drops a context that hangs or failed the handshake. Its pending callbacks run with no reply
// and its disconnect callback is ignored because it is no longer context_.
void AsyncConnection::abandon_context(const std::string& reason) {
  redisAsyncContext* context = context_;
  context_ = nullptr;
  pending_replies_ = 0;
  if (context != nullptr) redisAsyncFree(context);
  if (state_ != State::closed) schedule_reconnect(reason);
}

void AsyncConnection::connected_callback(const redisAsyncContext* context, int status) {
  auto* self = static_cast<AsyncConnection*>(context->data);
  if (self == nullptr || self->context_ != context) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback returns.
    self->context_ = nullptr;
    self->schedule_reconnect(context->errstr);
    return;
  }
  self->begin_handshake();
}

void AsyncConnection::disconnected_callback(const redisAsyncContext* context, int status) {
  auto* self = static_cast<AsyncConnection*>(context->data);
  if (self == nullptr || self->context_ != context) return;
  self->context_ = nullptr;
  self->pending_replies_ = 0;
  if (self->state_ == State::closed) return;
  self->schedule_reconnect(status == REDIS_OK ? "Redis closed the connection" : context->errstr);
}

void AsyncConnection::begin_handshake() {
  state_ = State::handshaking;
  auto* batch = new Batch;
  batch->observe = [this](const redisReply* reply) {
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
      double seconds = std::strtod(reply->element[0]->str, nullptr);
      double micros = std::strtod(reply->element[1]->str, nullptr);
      clock_offset_ = seconds + micros / 1e6 - local_time();
    }
  };
  batch->done = [this](const Status& outcome) {
    if (!outcome) {
      const std::string& error = outcome.message();
      std::string reason = is_authentication_error(error)
                               ? "Redis refused " + credentials_named(endpoint_) + ": " + error
                               : "Redis handshake failed: " + error;
      abandon_context(reason);
      return;
    }
    identify();
  };
  std::vector<Command> commands;
  if (Command auth = auth_command(endpoint_); !auth.empty()) commands.push_back(std::move(auth));
  if (endpoint_.db != 0) commands.push_back({"SELECT", std::to_string(endpoint_.db)});
  commands.push_back({"TIME"});
  batch->remaining = commands.size();
  for (const Command& command : commands) queue(command, batch);
  arm_command_watchdog();
}

// A separate round trip, because a Redis that refuses CLIENT must not fail the handshake.
void AsyncConnection::identify() {
  auto* batch = new Batch;
  batch->remaining = 1;
  client_id_ = 0;
  batch->observe = [this](const redisReply* reply) {
    if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) client_id_ = reply->integer;
  };
  batch->done = [this](const Status&) {
    if (state_ == State::handshaking && context_ != nullptr) become_ready();
  };
  if (!queue({"CLIENT", "ID"}, batch)) {
    delete batch;
    abandon_context("the connection is closing");
  }
}

void AsyncConnection::become_ready() {
  state_ = State::ready;
  backoff_ms_ = first_backoff_ms;
  uv_timer_stop(retry_timer_.get());
  last_error_.clear();
  if (events_.ready) events_.ready();
}

bool AsyncConnection::send(const std::vector<Command>& commands, BatchDone done) {
  if (state_ != State::ready || context_ == nullptr || commands.empty()) return false;
  auto* batch = new Batch;
  batch->done = std::move(done);
  batch->remaining = commands.size();
  std::size_t queued = 0;
  for (const Command& command : commands) queued += queue(command, batch) ? 1 : 0;
  if (queued == 0) {
    delete batch;
    return false;
  }
  // Only a closing context refuses commands; the queued ones then complete with no reply.
  if (queued < commands.size()) {
    batch->ok = false;
    batch->first_error = "the connection is closing";
    batch->remaining = queued;
  }
  arm_command_watchdog();
  return true;
}

bool AsyncConnection::queue(const Command& command, Batch* batch) {
  CommandArgv argv(command);
  if (redisAsyncCommandArgv(context_, reply_callback, batch, argv.count(), argv.arguments.data(),
                            argv.lengths.data()) != REDIS_OK) {
    return false;
  }
  if (pending_replies_++ == 0) last_progress_ms_ = uv_now(loop_);
  return true;
}

void AsyncConnection::reply_callback(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<AsyncConnection*>(context->data);
  auto* batch = static_cast<Batch*>(privdata);
  if (self != nullptr && self->context_ == context) {
    self->on_reply(batch, static_cast<const redisReply*>(reply));
    return;
  }
  // A reply (or the null of a dropped request) from an abandoned context.
  batch->ok = false;
  if (--batch->remaining == 0) {
    BatchDone finished = std::move(batch->done);
    delete batch;
    finished(Status::error("connection lost"));
  }
}

void AsyncConnection::on_reply(Batch* batch, const redisReply* reply) {
  if (pending_replies_ > 0) --pending_replies_;
  last_progress_ms_ = uv_now(loop_);
  if (pending_replies_ == 0) uv_timer_stop(watchdog_timer_.get());
  if (reply_is_error(reply)) {
    if (batch->ok) {
      batch->first_error = reply == nullptr ? "connection lost" : std::string(reply_text(reply));
    }
    batch->ok = false;
  }
  if (batch->observe) batch->observe(reply);
  if (--batch->remaining == 0) {
    BatchDone finished = std::move(batch->done);
    bool ok = batch->ok;
    std::string error = std::move(batch->first_error);
    delete batch;
    if (!ok && error.empty()) error = "connection lost";
    finished(ok ? Status() : Status::error(error));
  }
}

void AsyncConnection::arm_command_watchdog() {
  if (pending_replies_ == 0 || uv_is_active(watchdog_timer_.base())) {
    return;
  }
  uv_timer_start(
      watchdog_timer_.get(),
      [](uv_timer_t* timer) { static_cast<AsyncConnection*>(timer->data)->on_watchdog(); },
      milliseconds(endpoint_.command_timeout), 0);
}

void AsyncConnection::on_watchdog() {
  if (pending_replies_ == 0) return;
  std::uint64_t timeout = milliseconds(endpoint_.command_timeout);
  std::uint64_t waited = uv_now(loop_) - last_progress_ms_;
  if (waited >= timeout) {
    abandon_context("a command timed out");
    return;
  }
  uv_timer_start(
      watchdog_timer_.get(),
      [](uv_timer_t* timer) { static_cast<AsyncConnection*>(timer->data)->on_watchdog(); },
      timeout - waited, 0);
}

}  // namespace prefork::storage
