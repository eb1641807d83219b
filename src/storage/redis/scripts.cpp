#include "storage/redis/scripts.hpp"

namespace prefork::storage::scripts {

const std::string_view touch = R"lua(
local prefix, ttl = ARGV[1], ARGV[2]
local index = prefix .. ':processes'
local function expire(key)
  if ttl == '0' then
    redis.call('PERSIST', key)
  else
    redis.call('EXPIRE', key, ttl)
  end
end
for i = 3, #ARGV do
  local process = ARGV[i]
  local set = prefix .. ':process:' .. process
  local members = redis.call('SMEMBERS', set)
  for _, series in ipairs(members) do
    local colon = string.find(series, ':', 1, true)
    if colon then
      local base = prefix .. ':' .. string.sub(series, 1, colon - 1) .. ':' .. process
      local md5 = string.sub(series, colon + 1)
      expire(base .. ':metric:' .. md5)
      expire(base .. ':meta:' .. md5)
    end
  end
  if #members > 0 then
    expire(set)
    redis.call('SADD', index, process)
  end
end
expire(index)
return 1
)lua";

}  // namespace prefork::storage::scripts
