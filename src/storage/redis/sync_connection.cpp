#include "storage/redis/sync_connection.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/clock.hpp"
#include "storage/redis/cluster.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/sentinel.hpp"
#include "storage/redis/topology.hpp"

namespace prefork::storage {
namespace {

void throw_error_reply(const redisReply* reply, const Command& command) {
  std::string text(reply_text(reply));
  std::string name = command.empty() ? "" : command.front();
  if (is_authentication_error(text)) {
    throw RedisAuthenticationError("Redis refused " + name + ": " + text);
  }
  throw RedisError("Redis refused " + name + ": " + text);
}

}  // namespace

double local_time() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

timeval to_timeval(double seconds) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(seconds);
  value.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(value.tv_sec)) * 1e6);
  return value;
}

SyncConnection::SyncConnection(RedisEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

SyncConnection::~SyncConnection() {
  disconnect();
}

void SyncConnection::disconnect() {
  socket_.close();
  reader_.reset();
  secured_ = answered_ = false;
}

std::int64_t SyncConnection::deadline() const {
  return monotonic_ms() + std::int64_t(endpoint_.command_timeout * 1000);
}

void SyncConnection::connect() {
  disconnect();
  if (redirect_) {
    endpoint_.host = redirect_->host;
    endpoint_.port = redirect_->port;
    redirect_.reset();
  } else if (!locators(endpoint_).empty()) {
    RedisHost found = ask_locators();
    endpoint_.host = found.host;
    endpoint_.port = found.port;
  }
  Status connected = socket_.connect(endpoint_.host, endpoint_.port,
                                     std::int64_t(endpoint_.connect_timeout * 1000));
  if (!connected.ok()) fail("connecting to", connected);
  if (endpoint_.tls) start_tls();
  reader_.reset(redisReaderCreate());
  if (!reader_) throw RedisConnectionError("cannot allocate a Redis reply reader");
  authenticate_and_select();
  if (requires_master_role(endpoint_)) require_master();
  ++connections_;
}

// The first sentinel or cluster node that knows wins; the others are asked only when it fails.
RedisHost SyncConnection::ask_locators() {
  std::string reasons;
  for (const RedisHost& locator : locators(endpoint_)) {
    SyncConnection asking(locator_endpoint(endpoint_, locator));
    try {
      std::vector<Reply> replies = asking.pipeline(location_commands(endpoint_));
      if (std::optional<RedisHost> found = located(endpoint_, locator, replies.back().get()))
        return *found;
      std::string_view error = reply_text(replies.front().get());
      reasons +=
          "; " + describe(asking.endpoint()) +
          (reply_is_error(replies.front().get()) ? ": " + std::string(error) : " does not know it");
    } catch (const RedisError& error) {
      reasons += std::string("; ") + error.what();
    }
  }
  throw RedisConnectionError(not_located(endpoint_) + reasons);
}

void SyncConnection::require_master() {
  Reply reply = execute({"ROLE"});
  std::string role = role_of(reply.get());
  if (role == "master") return;
  disconnect();
  throw RedisConnectionError("Redis at " + describe(endpoint_) + " is not the master (ROLE: " +
                             (role.empty() ? std::string(reply_text(reply.get())) : role) + ")");
}

// A master demoted under the connection, a slot moved away: ask again, or go where MOVED
// says (the caller's retry does).
void SyncConnection::check_still_served(const redisReply* reply) {
  if (!serves_no_longer(endpoint_, reply)) return;
  redirect_ = moved_to(reply);
  disconnect();
  throw RedisConnectionError("Redis at " + describe(endpoint_) +
                             " serves it no longer: " + std::string(reply_text(reply)));
}

void SyncConnection::check_still_served(const std::vector<Reply>& replies) {
  for (const Reply& reply : replies) check_still_served(reply.get());
}

void SyncConnection::start_tls() {
  SSL* session = endpoint_.tls->new_session(endpoint_.host);
  if (!session) {
    disconnect();
    throw RedisConnectionError("cannot start TLS to Redis at " + describe(endpoint_) + ": " +
                               net::tls::last_error());
  }
  Status secured =
      socket_.start_tls(session, describe(endpoint_),
                        monotonic_ms() + std::int64_t(endpoint_.connect_timeout * 1000));
  if (!secured.ok()) fail("TLS handshake with", secured);
  secured_ = true;
}

void SyncConnection::authenticate_and_select() {
  if (Command auth = auth_command(endpoint_); !auth.empty()) {
    Reply reply = execute(auth);
    if (reply_is_error(reply.get())) {
      std::string text(reply_text(reply.get()));
      disconnect();
      throw RedisAuthenticationError("Redis at " + describe(endpoint_) + " refused " +
                                     credentials_named(endpoint_) + ": " + text);
    }
  }
  if (endpoint_.db != 0) {
    Command select = {"SELECT", std::to_string(endpoint_.db)};
    Reply reply = execute(select);
    if (reply_is_error(reply.get())) {
      Reply kept = std::move(reply);
      disconnect();
      throw_error_reply(kept.get(), select);
    }
  }
}

void SyncConnection::fail(const char* doing, const Status& status) {
  bool timed_out = socket_.last_failure() == net::BlockingSocket::Failure::timeout;
  // TLS 1.3 lets a client finish its handshake before the server checks it, so a Redis with
  // tls-auth-clients refuses a client without a certificate only at its first command.
  bool maybe_refused = secured_ && !answered_ && !endpoint_.tls->has_certificate();
  disconnect();
  std::string message =
      std::string(doing) + " Redis at " + describe(endpoint_) + ": " + status.message();
  if (maybe_refused)
    message += " (if this Redis requires client certificates: set redis.ssl_certfile)";
  if (timed_out) throw RedisTimeoutError(message);
  throw RedisConnectionError(message);
}

void SyncConnection::ensure_connected() {
  if (!socket_.is_open()) connect();
}

void SyncConnection::send(std::string_view bytes, std::int64_t deadline) {
  if (Status sent = socket_.write_all(bytes, deadline); !sent.ok()) fail("talking to", sent);
}

Reply SyncConnection::read_reply(std::int64_t deadline) {
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK)
      fail("reading from", Status::error(std::string("protocol error: ") + reader_->errstr));
    if (reply) {
      answered_ = true;
      return Reply(static_cast<redisReply*>(reply));
    }
    char buffer[16 * 1024];
    Result<std::size_t> got = socket_.read_some(buffer, sizeof buffer, deadline);
    if (!got.ok()) fail("talking to", got.status());
    redisReaderFeed(reader_.get(), buffer, *got);
  }
}

Reply SyncConnection::execute(const Command& command) {
  std::string bytes;
  append_formatted(bytes, command);
  std::int64_t until = deadline();
  send(bytes, until);
  Reply reply = read_reply(until);
  check_still_served(reply.get());
  return reply;
}

std::vector<Reply> SyncConnection::execute_pipeline(const std::vector<Command>& commands) {
  std::string bytes;
  for (const Command& command : commands) append_formatted(bytes, command);
  std::int64_t until = deadline();
  send(bytes, until);
  std::vector<Reply> replies = read_replies(commands.size(), until);
  check_still_served(replies);
  return replies;
}

std::vector<Reply> SyncConnection::execute_pipeline(std::initializer_list<std::string_view> parts,
                                                    std::size_t replies) {
  std::int64_t until = deadline();
  for (std::string_view part : parts) send(part, until);
  std::vector<Reply> read = read_replies(replies, until);
  check_still_served(read);
  return read;
}

std::vector<Reply> SyncConnection::read_replies(std::size_t count, std::int64_t deadline) {
  std::vector<Reply> replies;
  replies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) replies.push_back(read_reply(deadline));
  return replies;
}

Reply SyncConnection::command(const Command& command) {
  bool fresh = !socket_.is_open();
  ensure_connected();
  Reply reply;
  try {
    reply = execute(command);
  } catch (const RedisConnectionError&) {
    if (fresh) throw;
    connect();
    reply = execute(command);
  }
  if (reply_is_error(reply.get())) throw_error_reply(reply.get(), command);
  return reply;
}

std::vector<Reply> SyncConnection::pipeline(const std::vector<Command>& commands) {
  if (commands.empty()) return {};
  bool fresh = !socket_.is_open();
  ensure_connected();
  try {
    return execute_pipeline(commands);
  } catch (const RedisConnectionError&) {
    if (fresh) throw;
    connect();
    return execute_pipeline(commands);
  }
}

std::vector<Reply> SyncConnection::pipeline(std::initializer_list<std::string_view> parts,
                                            std::size_t replies) {
  if (replies == 0) return {};
  bool fresh = !socket_.is_open();
  ensure_connected();
  try {
    return execute_pipeline(parts, replies);
  } catch (const RedisConnectionError&) {
    if (fresh) throw;
    connect();
    return execute_pipeline(parts, replies);
  }
}

double SyncConnection::server_time() {
  try {
    Reply reply = command({"TIME"});
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
      double seconds = std::strtod(reply->element[0]->str, nullptr);
      double micros = std::strtod(reply->element[1]->str, nullptr);
      return seconds + micros / 1e6;
    }
  } catch (const RedisError&) {
    // Timestamps must not fail a write: the local clock is the documented fallback.
  }
  return local_time();
}

}  // namespace prefork::storage
