// RESP through hiredis, for connections that own their socket: commands formatted as
// redisCommandArgv would send them, and an owning reply reader.
#pragma once

#include <hiredis/hiredis.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "storage/redis/reply.hpp"

namespace prefork::storage {

struct ReaderDeleter {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};
using RespReader = std::unique_ptr<redisReader, ReaderDeleter>;

// Appends command in RESP, formatted by hiredis; throws RedisError when it cannot.
void append_formatted(std::string& out, const Command& command);

// Appends one command in RESP, as redisFormatCommandArgv would format it, for pipelines that
// are formatted once and sent many times.
void append_command(std::string& out, std::initializer_list<std::string_view> arguments);

}  // namespace prefork::storage
