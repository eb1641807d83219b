#include "storage/redis/protocol.hpp"

#include "storage/redis/errors.hpp"

namespace prefork::storage {

void append_formatted(std::string& out, const Command& command) {
  CommandArgv argv(command);
  char* formatted = nullptr;
  int length =
      redisFormatCommandArgv(&formatted, argv.count(), argv.arguments.data(), argv.lengths.data());
  if (length < 0) throw RedisError("cannot format a Redis command");
  out.append(formatted, std::size_t(length));
  redisFreeCommand(formatted);
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

}  // namespace prefork::storage
