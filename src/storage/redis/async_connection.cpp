#include "storage/redis/async_connection.hpp"

#include <algorithm>
#include <cstdlib>

#include "net/tls/stream.hpp"
#include "storage/redis/cluster.hpp"
#include "storage/redis/sentinel.hpp"
#include "storage/redis/sync_connection.hpp"
#include "storage/redis/topology.hpp"

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
  stream_.reset();
  fail_waiting();
}

// A MOVED reply named the next address to try; otherwise sentinels and cluster nodes are
// asked afresh, from the first.
void AsyncConnection::start_connect() {
  if (redirect_) {
    RedisHost target = std::move(*redirect_);
    redirect_.reset();
    connect_to(target);
    return;
  }
  if (!locators(endpoint_).empty()) {
    locator_ = 0;
    ask_locator();
    return;
  }
  state_ = State::connecting;
  open_stream(endpoint_.host, endpoint_.port);
}

// A new stream and reader, with the connect deadline (which covers the handshake too).
void AsyncConnection::open_stream(const std::string& host, int port) {
  ++connection_;
  reader_.reset(redisReaderCreate());
  if (!reader_) {
    schedule_reconnect("cannot allocate a Redis reply reader");
    return;
  }
  net::Stream::Events events{
      [this] { on_connected(); },
      [this](std::string_view bytes) { on_bytes(bytes); },
      [this](const std::string& reason) { drop_connection(reason); },
  };
  if (endpoint_.tls) {
    stream_ = std::make_unique<net::tls::Stream>(loop_, endpoint_.tls, std::move(events));
  } else {
    stream_ = std::make_unique<net::TcpStream>(loop_, std::move(events));
  }
  State opening = state_;
  std::uint64_t connection = connection_;
  stream_->connect(host, port);
  if (state_ != opening || connection != connection_) return;  // failed at once
  uv_timer_start(
      retry_timer_.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<AsyncConnection*>(timer->data);
        if (self->state_ == State::waiting) {
          self->start_connect();
        } else if (self->is_connecting()) {
          self->drop_connection("connecting timed out");
        }
      },
      milliseconds(endpoint_.connect_timeout), 0);
}

void AsyncConnection::on_connected() {
  if (state_ == State::asking) {
    query_locator();
  } else {
    begin_handshake();
  }
}

void AsyncConnection::ask_locator() {
  state_ = State::asking;
  const RedisHost& locator = locators(endpoint_)[locator_];
  open_stream(locator.host, locator.port);
}

void AsyncConnection::query_locator() {
  auto* batch = new Batch;
  asked_.reset();
  batch->observe = [this](const redisReply* reply) {
    const RedisHost& locator = locators(endpoint_)[locator_];
    if (std::optional<RedisHost> found = located(endpoint_, locator, reply))
      asked_ = std::move(found);
  };
  batch->done = [this](const Status& outcome) {
    if (!asked_) {
      drop_connection(outcome ? "it does not know " + describe(endpoint_) : outcome.message());
      return;
    }
    connect_to(*asked_);
  };
  write(location_commands(endpoint_), batch);
}

// From inside a reply (a sentinel's or cluster node's answer) or the retry timer: the stream
// is replaced, and the new connection number stops on_bytes from reading further.
void AsyncConnection::connect_to(const RedisHost& target) {
  endpoint_.host = target.host;
  endpoint_.port = target.port;
  stream_.reset();
  state_ = State::connecting;
  open_stream(endpoint_.host, endpoint_.port);
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

// Closes a connection that failed, hangs or failed the handshake. The batches waiting for its
// replies complete with an error (their values are sent again on the next connection).
// With sentinels or a cluster, one that fails is followed by the next; after the last, the
// backoff.
void AsyncConnection::drop_connection(const std::string& reason) {
  ++connection_;
  stream_.reset();
  reader_.reset();
  moved_.clear();
  fail_waiting();
  if (state_ == State::closed) return;
  if (state_ != State::asking) {
    schedule_reconnect(reason);
    return;
  }
  const RedisHost& locator = locators(endpoint_)[locator_];
  std::string failed = locator.host + ":" + std::to_string(locator.port) + ": " + reason;
  if (++locator_ < locators(endpoint_).size()) {
    ask_locator();
    return;
  }
  schedule_reconnect(not_located(endpoint_) + " (the last, " + failed + ")");
}

void AsyncConnection::fail_waiting() {
  std::deque<Batch*> lost = std::move(waiting_);
  waiting_.clear();
  for (Batch* batch : lost) on_reply(batch, nullptr);
}

void AsyncConnection::begin_handshake() {
  state_ = State::handshaking;
  std::vector<Command> commands;
  if (Command auth = auth_command(endpoint_); !auth.empty()) commands.push_back(std::move(auth));
  if (endpoint_.db != 0) commands.push_back({"SELECT", std::to_string(endpoint_.db)});
  const std::size_t time_at = commands.size();
  commands.push_back({"TIME"});
  if (requires_master_role(endpoint_)) commands.push_back({"ROLE"});
  role_.clear();
  auto* batch = new Batch;
  batch->observe = [this, time_at, seen = std::size_t(0)](const redisReply* reply) mutable {
    std::size_t at = seen++;
    if (at == time_at) {
      read_clock(reply);
    } else if (at == time_at + 1) {
      role_ = role_of(reply);
    }
  };
  batch->done = [this](const Status& outcome) {
    if (!outcome) {
      const std::string& error = outcome.message();
      std::string reason = is_authentication_error(error)
                               ? "Redis refused " + credentials_named(endpoint_) + ": " + error
                               : "Redis handshake failed: " + error;
      drop_connection(reason);
      return;
    }
    if (requires_master_role(endpoint_) && role_ != "master") {
      drop_connection("Redis at " + describe(endpoint_) + " is not the master (ROLE: " + role_ +
                      ")");
      return;
    }
    identify();
  };
  write(commands, batch);
}

void AsyncConnection::read_clock(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
  double seconds = std::strtod(std::string(reply_text(reply->element[0])).c_str(), nullptr);
  double micros = std::strtod(std::string(reply_text(reply->element[1])).c_str(), nullptr);
  clock_offset_ = seconds + micros / 1e6 - local_time();
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
    if (state_ == State::handshaking && stream_) become_ready();
  };
  write({{"CLIENT", "ID"}}, batch);
}

void AsyncConnection::become_ready() {
  state_ = State::ready;
  backoff_ms_ = first_backoff_ms;
  uv_timer_stop(retry_timer_.get());
  last_error_.clear();
  if (events_.ready) events_.ready();
}

bool AsyncConnection::send(const std::vector<Command>& commands, BatchDone done) {
  if (state_ != State::ready || !stream_ || commands.empty()) return false;
  auto* batch = new Batch;
  batch->done = std::move(done);
  write(commands, batch);
  return true;
}

// One write for the whole batch: pipelined, as redisAsyncCommandArgv would queue them.
void AsyncConnection::write(const std::vector<Command>& commands, Batch* batch) {
  std::string bytes;
  for (const Command& command : commands) append_formatted(bytes, command);
  batch->remaining = commands.size();
  if (waiting_.empty()) last_progress_ms_ = uv_now(loop_);
  waiting_.insert(waiting_.end(), commands.size(), batch);
  stream_->write(std::move(bytes));
  arm_command_watchdog();
}

// Every complete reply in the bytes goes to the batch of its command. A handler may drop the
// connection (a failed handshake): the rest of the bytes then belong to no one.
void AsyncConnection::on_bytes(std::string_view bytes) {
  std::uint64_t connection = connection_;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    drop_connection(std::string("protocol error: ") + reader_->errstr);
    return;
  }
  last_progress_ms_ = uv_now(loop_);
  while (connection == connection_) {
    void* parsed = nullptr;
    if (redisReaderGetReply(reader_.get(), &parsed) != REDIS_OK) {
      drop_connection(std::string("protocol error: ") + reader_->errstr);
      return;
    }
    if (parsed == nullptr) return;
    Reply reply(static_cast<redisReply*>(parsed));
    if (waiting_.empty()) continue;  // nothing asked for it: ignored
    Batch* batch = waiting_.front();
    waiting_.pop_front();
    if (waiting_.empty()) uv_timer_stop(watchdog_timer_.get());
    on_reply(batch, reply.get());
    if (!moved_.empty() && connection == connection_) {
      drop_connection("Redis at " + describe(endpoint_) + " serves it no longer: " + moved_);
      return;
    }
  }
}

void AsyncConnection::on_reply(Batch* batch, const redisReply* reply) {
  if (moved_.empty() && serves_no_longer(endpoint_, reply)) {
    moved_ = reply_text(reply);
    redirect_ = moved_to(reply);
  }
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
  if (waiting_.empty() || uv_is_active(watchdog_timer_.base())) return;
  uv_timer_start(
      watchdog_timer_.get(),
      [](uv_timer_t* timer) { static_cast<AsyncConnection*>(timer->data)->on_watchdog(); },
      milliseconds(endpoint_.command_timeout), 0);
}

void AsyncConnection::on_watchdog() {
  if (waiting_.empty()) return;
  std::uint64_t timeout = milliseconds(endpoint_.command_timeout);
  std::uint64_t waited = uv_now(loop_) - last_progress_ms_;
  if (waited >= timeout) {
    drop_connection("a command timed out");
    return;
  }
  uv_timer_start(
      watchdog_timer_.get(),
      [](uv_timer_t* timer) { static_cast<AsyncConnection*>(timer->data)->on_watchdog(); },
      timeout - waited, 0);
}

}  // namespace prefork::storage
