#include "http/date.hpp"

namespace prefork::http {

void DateCache::refresh(std::uint64_t now_ms, std::time_t wall_clock) {
  std::tm parts;
  gmtime_r(&wall_clock, &parts);
  // IMF-fixdate, always in English whatever the locale, hence no strftime.
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int written = std::snprintf(text_, sizeof text_, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              days[parts.tm_wday], parts.tm_mday, months[parts.tm_mon],
                              parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec);
  length_ = written > 0 ? std::size_t(written) : 0;
  refreshed_ms_ = now_ms;
}

}  // namespace prefork::http
