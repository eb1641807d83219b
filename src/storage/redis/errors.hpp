// The failures of the Redis storage's synchronous API, the public ones
// (include/prefork/redis_storage.hpp): a program using the library catches what the storage
// throws. The async writer never throws: it keeps values in memory and retries after
// reconnecting, so its errors are states, not exceptions.
#pragma once

#include <prefork/redis_storage.hpp>

namespace prefork::storage {

using redis::RedisAuthenticationError;
using redis::RedisConnectionError;
using redis::RedisError;
using redis::RedisTimeoutError;

}  // namespace prefork::storage
