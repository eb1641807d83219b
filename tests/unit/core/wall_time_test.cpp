// RFC 3339 times of the JSON log lines: local time, milliseconds, the offset with its colon.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "core/wall_time.hpp"

using prefork::Rfc3339Clock;

namespace {

// The time in the zone tz, written by a fresh clock (a clock keeps the text of its second).
std::string in_zone(const char* tz, std::time_t seconds, int milliseconds) {
  setenv("TZ", tz, 1);
  tzset();
  std::string out;
  Rfc3339Clock().append(out, seconds, milliseconds);
  unsetenv("TZ");
  tzset();
  return out;
}

}  // namespace

TEST_CASE("local time with milliseconds and the UTC offset, written with a colon") {
  CHECK(in_zone("UTC", 971186136, 123) == "2000-10-10T13:55:36.123+00:00");
  CHECK(in_zone("UTC", 971186136, 7) == "2000-10-10T13:55:36.007+00:00");
  CHECK(in_zone("<+0530>-5:30", 971186136, 0) == "2000-10-10T19:25:36.000+05:30");
  CHECK(in_zone("<-03>3", 971186136, 999) == "2000-10-10T10:55:36.999-03:00");
}

TEST_CASE("one clock follows the seconds it is asked for") {
  setenv("TZ", "UTC", 1);
  tzset();
  Rfc3339Clock clock;
  std::string out;
  clock.append(out, 971186136, 1);
  out += ' ';
  clock.append(out, 971186136, 2);
  out += ' ';
  clock.append(out, 971186137, 3);
  unsetenv("TZ");
  tzset();
  CHECK(out ==
        "2000-10-10T13:55:36.001+00:00 2000-10-10T13:55:36.002+00:00 "
        "2000-10-10T13:55:37.003+00:00");
}

TEST_CASE("now is a time of this day") {
  std::string out;
  Rfc3339Clock().append_now(out);
  REQUIRE(out.size() == std::string("2000-10-10T13:55:36.123+00:00").size());
  char date[16];
  std::time_t now = std::time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  strftime(date, sizeof date, "%Y-%m-%dT", &local);
  // At midnight the clock may have read the day before.
  CHECK((out.substr(0, 11) == date || out.substr(11, 8) == "23:59:59"));
  CHECK(out[19] == '.');
  CHECK(out[26] == ':');
}
