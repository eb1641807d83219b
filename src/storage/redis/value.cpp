#include "storage/redis/value.hpp"

namespace prefork::storage {

RedisValue::RedisValue(RedisStorageDict& dict, Series series)
    : dict_(dict), series_(std::move(series)) {
  if (auto stored = dict_.read_value(series_)) {
    value_ = stored->value;
    timestamp_ = stored->timestamp;
  }
}

double RedisValue::get() {
  if (auto stored = dict_.read_value(series_)) {
    value_ = stored->value;
    timestamp_ = stored->timestamp;
  }
  return value_;
}

void RedisValue::set(double value, double timestamp) {
  dict_.write_value(series_, value, timestamp);
  value_ = value;
  timestamp_ = timestamp;
}

// Absolute: the new total is written, never an increment (HINCRBYFLOAT is not used).
void RedisValue::inc(double amount) {
  set(value_ + amount, timestamp_);
}

double RedisValue::get_timestamp() {
  get();
  return timestamp_;
}

}  // namespace prefork::storage
