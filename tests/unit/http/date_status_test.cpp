// The Date header's text and cache, and the reason phrases.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "http/date.hpp"
#include "http/status.hpp"

using prefork::http::DateCache;

TEST_CASE("Date is an IMF-fixdate in GMT, whatever the local time zone") {
  DateCache cache;
  cache.refresh(0, 784111777);  // RFC 9110's example
  CHECK(cache.get(0) == "Sun, 06 Nov 1994 08:49:37 GMT");
  cache.refresh(0, 951782400);  // a leap day, single-digit month and day zero-padded
  CHECK(cache.get(0) == "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("the text is rebuilt only once a second has passed on the loop's clock") {
  DateCache cache;
  cache.refresh(5000, 784111777);
  // Within the second the cached text stays, even though the wall clock says otherwise.
  CHECK(cache.get(5999) == "Sun, 06 Nov 1994 08:49:37 GMT");
  std::string now = std::string(cache.get(6000));
  CHECK(now != "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(now.size() == 29);
  CHECK(now.substr(26) == "GMT");
}

TEST_CASE("reason phrases, and Unknown for unregistered codes") {
  using prefork::http::reason_phrase;
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(413) == "Request Entity Too Large");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(503) == "Service Unavailable");
  CHECK(reason_phrase(299) == "Unknown");
}

TEST_CASE("1xx, 204 and 304 never carry a body") {
  using prefork::http::status_forbids_body;
  for (int status : {100, 101, 199, 204, 304}) CHECK(status_forbids_body(status));
  for (int status : {200, 205, 301, 400, 500}) CHECK_FALSE(status_forbids_body(status));
}
