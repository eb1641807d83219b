// Wall-clock time as the JSON log lines write it: RFC 3339 in local time, with milliseconds and
// the UTC offset ("2000-10-10T13:55:36.123+02:00"), which Loki, Elasticsearch, Vector and
// Python's datetime.fromisoformat read without a pattern.
#pragma once

#include <ctime>
#include <string>

namespace prefork {

// Keeps the text of the current second, so that a busy access log asks for the local time once
// a second. One thread's: the error log makes one per line.
class Rfc3339Clock {
 public:
  // The time now.
  void append_now(std::string& out);
  void append(std::string& out, std::time_t seconds, int milliseconds);

 private:
  std::time_t second_ = -1;
  char date_time_[32] = "";  // "2000-10-10T13:55:36"
  char offset_[8] = "";      // "+02:00"
};

}  // namespace prefork
