// The Date header value, formatted at most once per second.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace prefork::http {

class DateCache {
 public:
  // now_ms: any monotonic millisecond clock (the loop's uv_now); the text is rebuilt from the
  // wall clock when a second has passed since the last rebuild.
  std::string_view get(std::uint64_t now_ms) {
    if (length_ == 0 || now_ms - refreshed_ms_ >= 1000) refresh(now_ms, std::time(nullptr));
    return {text_, length_};
  }
  // Formats the given wall-clock time (exposed for tests).
  void refresh(std::uint64_t now_ms, std::time_t wall_clock);

 private:
  char text_[40] = {};
  std::size_t length_ = 0;
  std::uint64_t refreshed_ms_ = 0;
};

}  // namespace prefork::http
