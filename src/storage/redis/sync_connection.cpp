#include "storage/redis/sync_connection.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "storage/redis/errors.hpp"

namespace prefork::storage {
namespace {

std::string describe(const RedisEndpoint& endpoint) {
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

bool is_timeout(int error_number, const char* text) {
  return error_number == EAGAIN || error_number == EWOULDBLOCK || error_number == ETIMEDOUT ||
         std::strstr(text, "timed out") != nullptr ||
         std::strstr(text, "temporarily unavailable") != nullptr;
}

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
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

void SyncConnection::connect() {
  disconnect();
  errno = 0;
  context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                     to_timeval(endpoint_.connect_timeout));
  if (context_ == nullptr) throw RedisConnectionError("cannot allocate a Redis context");
  if (context_->err != 0) fail("connecting to");
  redisSetTimeout(context_, to_timeval(endpoint_.command_timeout));
  authenticate_and_select();
}

void SyncConnection::authenticate_and_select() {
  if (!endpoint_.password.empty()) {
    Reply reply = execute({"AUTH", endpoint_.password});
    if (reply_is_error(reply.get())) {
      std::string text(reply_text(reply.get()));
      disconnect();
      throw RedisAuthenticationError("Redis at " + describe(endpoint_) +
                                     " refused the password: " + text);
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

void SyncConnection::fail(const char* doing) {
  int error_number = errno;
  std::string text = context_ != nullptr ? context_->errstr : "no context";
  bool timed_out = context_ != nullptr && context_->err == REDIS_ERR_IO &&
                   is_timeout(error_number, text.c_str());
  disconnect();
  std::string message = std::string(doing) + " Redis at " + describe(endpoint_) + ": " + text;
  if (timed_out) throw RedisTimeoutError(message);
  throw RedisConnectionError(message);
}

void SyncConnection::ensure_connected() {
  if (context_ == nullptr) connect();
}

Reply SyncConnection::execute(const Command& command) {
  std::vector<const char*> arguments;
  std::vector<std::size_t> lengths;
  for (const std::string& argument : command) {
    arguments.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  errno = 0;
  void* reply = redisCommandArgv(context_, static_cast<int>(command.size()), arguments.data(),
                                 lengths.data());
  if (reply == nullptr) fail("talking to");
  return Reply(static_cast<redisReply*>(reply));
}

std::vector<Reply> SyncConnection::execute_pipeline(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    std::vector<const char*> arguments;
    std::vector<std::size_t> lengths;
    for (const std::string& argument : command) {
      arguments.push_back(argument.data());
      lengths.push_back(argument.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(command.size()), arguments.data(),
                               lengths.data()) != REDIS_OK) {
      fail("queueing a command for");
    }
  }
  return read_replies(commands.size());
}

std::vector<Reply> SyncConnection::execute_pipeline(std::initializer_list<std::string_view> parts,
                                                    std::size_t replies) {
  for (std::string_view part : parts) {
    if (redisAppendFormattedCommand(context_, part.data(), part.size()) != REDIS_OK) {
      fail("queueing a command for");
    }
  }
  return read_replies(replies);
}

std::vector<Reply> SyncConnection::read_replies(std::size_t count) {
  std::vector<Reply> replies;
  replies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    void* reply = nullptr;
    errno = 0;
    if (redisGetReply(context_, &reply) != REDIS_OK) fail("talking to");
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

Reply SyncConnection::command(const Command& command) {
  bool fresh = context_ == nullptr;
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
  bool fresh = context_ == nullptr;
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
  bool fresh = context_ == nullptr;
  ensure_connected();
  try {
    return execute_pipeline(parts, replies);
  } catch (const RedisConnectionError&) {
    if (fresh) throw;
    connect();
    return execute_pipeline(parts, replies);
  }
}

void append_command(std::string& out, std::initializer_list<std::string_view> arguments) {
  out += '*';
  out += std::to_string(arguments.size());
  out += "\r\n";
  for (std::string_view argument : arguments) {
    out += '$';
    out += std::to_string(argument.size());
    out += "\r\n";
    out += argument;
    out += "\r\n";
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
