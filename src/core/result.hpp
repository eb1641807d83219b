// The error convention (ARCHITECTURE.md, "Errors"): a function whose caller decides what a
// failure means returns a Status (nothing or an error message) or a Result<T> (a value or an
// error message). Exceptions are for start-up code that aborts anyway, and for the storage
// layer's typed Redis errors, which are caught at the storage boundary. The message says what
// failed in words a user can act on; callers add context in front ("metrics: " + error).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace prefork {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: a value converts to a result
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: so does an error
  static Result error(std::string message) { return Result(Status::error(std::move(message))); }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return status_.message(); }
  Status status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace prefork
