// Owning handles and readers for hiredis replies.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/sample.hpp"
#include "storage/redis/keys.hpp"

namespace prefork::storage {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// One command as its arguments, sent binary-safe (redisCommandArgv).
using Command = std::vector<std::string>;

// A Command as hiredis's *Argv functions take it; points into the command, which must outlive
// it.
struct CommandArgv {
  explicit CommandArgv(const Command& command) {
    arguments.reserve(command.size());
    lengths.reserve(command.size());
    for (const std::string& argument : command) {
      arguments.push_back(argument.data());
      lengths.push_back(argument.size());
    }
  }
  int count() const { return int(arguments.size()); }
  std::vector<const char*> arguments;
  std::vector<std::size_t> lengths;
};

inline std::string_view reply_text(const redisReply* reply) {
  if (reply == nullptr || reply->str == nullptr) return {};
  return {reply->str, reply->len};
}

inline bool reply_is_error(const redisReply* reply) {
  return reply == nullptr || reply->type == REDIS_REPLY_ERROR;
}

// Redis refuses a command because the connection is not (or wrongly) authenticated.
inline bool is_authentication_error(std::string_view text) {
  return text.starts_with("NOAUTH") || text.starts_with("WRONGPASS") ||
         text.starts_with("ERR invalid password") ||
         text.find("without any password configured") != std::string_view::npos;
}

// Reads the reply of HMGET key value timestamp; false when there is no readable value.
inline bool read_stored_value(const redisReply* fields, metrics::StoredValue& stored) {
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY || fields->elements != 2 ||
      fields->element[0]->type != REDIS_REPLY_STRING ||
      !parse_double(reply_text(fields->element[0]), stored.value)) {
    return false;
  }
  if (!parse_double(reply_text(fields->element[1]), stored.timestamp)) stored.timestamp = 0;
  return true;
}

}  // namespace prefork::storage
