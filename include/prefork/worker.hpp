// The per-worker context handed to App hooks, and the [app] table of the config file.
#pragma once

#include <uv.h>
#include <prefork/unique_function.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace prefork {

namespace metrics {
class Registry;
}

// The [app] table of the TOML file; nested tables appear as dotted keys ("db.host").
class AppConfig {
 public:
  using Value = std::variant<bool, std::int64_t, double, std::string>;

  bool contains(std::string_view key) const { return values_.find(key) != values_.end(); }

  std::string get_string(std::string_view key, std::string fallback = {}) const {
    return get<std::string>(key, std::move(fallback));
  }
  std::int64_t get_int(std::string_view key, std::int64_t fallback = 0) const {
    return get<std::int64_t>(key, fallback);
  }
  bool get_bool(std::string_view key, bool fallback = false) const {
    return get<bool>(key, fallback);
  }
  // Integers are accepted where a number is asked for.
  double get_double(std::string_view key, double fallback = 0) const {
    auto found = values_.find(key);
    if (found == values_.end()) return fallback;
    if (auto* integer = std::get_if<std::int64_t>(&found->second)) return double(*integer);
    if (auto* number = std::get_if<double>(&found->second)) return *number;
    return fallback;
  }

  const std::map<std::string, Value, std::less<>>& values() const { return values_; }
  void set(std::string key, Value value) { values_[std::move(key)] = std::move(value); }

 private:
  template <class T>
  T get(std::string_view key, T fallback) const {
    auto found = values_.find(key);
    if (found == values_.end()) return fallback;
    if (auto* value = std::get_if<T>(&found->second)) return *value;
    return fallback;
  }

  std::map<std::string, Value, std::less<>> values_;
};

class Worker {
 public:
  virtual uv_loop_t* loop() = 0;
  // 1 for the first worker the master starts, then 2, 3, … (never reused, like gunicorn's age).
  virtual int id() const = 0;
  virtual const AppConfig& app_config() const = 0;
  // The registry for the application's own metrics; stored like the built-in ones.
  virtual metrics::Registry& metrics() = 0;
  // Runs task on the worker's loop, soon (never inside this call); callable from any thread.
  // Tasks may own what they capture: [r = std::move(responder)]() mutable { r.send(…); }.
  // An exception a task throws is logged; a task still queued when the worker exits is
  // destroyed uncalled (a Responder it holds answers 500).
  virtual void post(UniqueFunction<void()> task) = 0;
  // Runs work on libuv's thread pool (UV_THREADPOOL_SIZE threads, 4 by default), then done on
  // the loop; callable from any thread. An exception work throws is logged and done destroyed
  // uncalled (a Responder it holds answers 500); one done throws is logged.
  virtual void offload(UniqueFunction<void()> work, UniqueFunction<void()> done) = 0;

 protected:
  ~Worker() = default;
};

}  // namespace prefork
