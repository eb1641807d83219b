#include <doctest/doctest.h>

#include "metrics/json_key.hpp"
#include "metrics/md5.hpp"

using namespace prefork::metrics;

// Expected texts and digests come from Python: json.dumps(..., sort_keys=True) and hashlib.md5.
TEST_CASE("json key is json.dumps with sorted labels") {
  CHECK(
      json_key("gunicorn_requests", "gunicorn_requests_total",
               {{"status", "200"}, {"method", "GET"}}, "Total number of requests") ==
      R"(["gunicorn_requests", "gunicorn_requests_total", {"method": "GET", "status": "200"}, "Total number of requests"])");
  CHECK(json_key("up", "up", {}, "") == R"(["up", "up", {}, ""])");
}

TEST_CASE("json key escapes like ensure_ascii") {
  const std::string key =
      json_key("m", "m_total",
               {{"z", "1"}, {"a", "\xc3\xa9\"\\\n\r\t\b\f\x01\x7f\xf0\x9f\x98\x80"}}, "help");
  CHECK(
      key ==
      R"(["m", "m_total", {"a": "\u00e9\"\\\n\r\t\b\f\u0001\u007f\ud83d\ude00", "z": "1"}, "help"])");
  CHECK(md5_hex(key) == "d17bdb60b03470735a865242c576658d");
}

TEST_CASE("invalid UTF-8 is written as U+FFFD and detected") {
  CHECK(json_key("m", "m", {{"a", "x\xff"}}, "") == R"(["m", "m", {"a": "x\ufffd"}, ""])");
  CHECK_FALSE(valid_utf8("x\xff"));
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));          // cut short
  CHECK(valid_utf8("\xe2\x82\xac and \xf0\x9f\x98\x80"));
}

TEST_CASE("md5 vectors of RFC 1321 and of a key") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(
      md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
      "57edf4a22be3c955ac49da2e2107b67a");
  CHECK(
      md5_hex(
          R"(["gunicorn_requests", "gunicorn_requests_total", {"method": "GET", "status": "200"}, "Total number of requests"])") ==
      "599e4c6c1a6bf8eba93ac1d31c250664");
}

TEST_CASE("parse reads back what json_key writes") {
  const Labels labels{{"b", "\xc3\xa9\n\"q\""}, {"a", "\xf0\x9f\x98\x80"}};
  KeyParts parts;
  REQUIRE(parse_json_key(json_key("name", "name_sum", labels, "line\nhelp \\"), parts).ok());
  CHECK(parts.metric_name == "name");
  CHECK(parts.sample_name == "name_sum");
  CHECK(parts.help == "line\nhelp \\");
  REQUIRE(parts.labels.size() == 2);
  CHECK(parts.labels[0] == std::pair<std::string, std::string>{"a", "\xf0\x9f\x98\x80"});
  CHECK(parts.labels[1] == std::pair<std::string, std::string>{"b", "\xc3\xa9\n\"q\""});
}

TEST_CASE("parse accepts other JSON spellings and sorts labels") {
  KeyParts parts;
  REQUIRE(parse_json_key("[\"m\",\"s\",{\"z\":\"1\",\"a\":\"\\u00E9\\/\"},\"h\"]", parts).ok());
  REQUIRE(parts.labels.size() == 2);
  CHECK(parts.labels[0].first == "a");
  CHECK(parts.labels[0].second == "\xc3\xa9/");
}

TEST_CASE("parse refuses what is not a key, saying where") {
  KeyParts parts;
  CHECK_FALSE(parse_json_key("", parts).ok());
  CHECK(parse_json_key(R"(["m", "s", {}, "h"] x)", parts).message().find("trailing") !=
        std::string::npos);
  CHECK_FALSE(parse_json_key(R"(["m", "s", {"a": 1}, "h"])", parts).ok());
  CHECK_FALSE(parse_json_key(R"(["m", "s", {}])", parts).ok());
  CHECK(parse_json_key(R"(["m", "s", {}, "h)", parts).message().find("unterminated") !=
        std::string::npos);
  CHECK_FALSE(parse_json_key(R"(["m", "\q", {}, "h"])", parts).ok());
}
