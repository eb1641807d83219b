// The failures of the Redis storage's synchronous API. The async writer never throws: it keeps
// values in memory and retries after reconnecting, so its errors are states, not exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace prefork::storage {

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Cannot connect, or the connection was lost. (A command Redis refuses is a plain RedisError.)
class RedisConnectionError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Connecting or a command took longer than its timeout.
class RedisTimeoutError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Wrong or missing password (AUTH refused, NOAUTH, WRONGPASS).
class RedisAuthenticationError : public RedisError {
 public:
  using RedisError::RedisError;
};

}  // namespace prefork::storage
