#include "storage/redis/scripts.hpp"

namespace prefork::storage::scripts {

const std::string_view touch = R"lua(
local prefix, ttl = ARGV[1], ARGV[2]
local index = prefix .. ':processes'
for i = 3, #ARGV do
  local process = ARGV[i]
  local set = prefix .. ':process:' .. process
  local members = redis.call('SMEMBERS', set)
  for _, series in ipairs(members) do
    local colon = string.find(series, ':', 1, true)
    if colon then
      local base = prefix .. ':' .. string.sub(series, 1, colon - 1) .. ':' .. process
      local md5 = string.sub(series, colon + 1)
      redis.call('EXPIRE', base .. ':metric:' .. md5, ttl)
      redis.call('EXPIRE', base .. ':meta:' .. md5, ttl)
    end
  end
  if #members > 0 then
    redis.call('EXPIRE', set, ttl)
    redis.call('SADD', index, process)
  end
end
redis.call('EXPIRE', index, ttl)
return 1
)lua";

}  // namespace prefork::storage::scripts
