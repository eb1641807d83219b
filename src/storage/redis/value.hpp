// RedisValue: one Redis-backed value for handler code that wants direct storage (a round trip
// per call). The server's own metrics use the shared-memory slot and RedisFlusher instead.
#pragma once

#include <string>

#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class RedisValue {
 public:
  // Loads the stored value of series, if any. Each process is the only writer of its own
  // series, so the value cached here is the truth and inc() needs no read.
  RedisValue(RedisStorageDict& dict, Series series);

  double get();  // reads Redis; the cached value when the key is gone
  void set(double value, double timestamp = 0);
  void inc(double amount = 1);
  double get_timestamp();
  const Series& series() const { return series_; }

 private:
  RedisStorageDict& dict_;
  Series series_;
  double value_ = 0;
  double timestamp_ = 0;
};

}  // namespace prefork::storage
