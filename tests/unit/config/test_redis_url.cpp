// PROMETHEUS_REDIS_URL parsing.
#include "config/redis_url.hpp"

#include <doctest/doctest.h>

using namespace prefork::config;

namespace {

RedisAddress parsed(const std::string& url) {
  RedisAddress address;
  prefork::Status status = parse_redis_url(url, address);
  INFO(status.message());
  REQUIRE(status.ok());
  return address;
}

std::string problem_of(const std::string& url) {
  RedisAddress address;
  prefork::Status status = parse_redis_url(url, address);
  REQUIRE_FALSE(status.ok());
  return status.message();
}

}  // namespace

TEST_CASE("every part of redis://[[user]:password@]host[:port][/db]") {
  RedisAddress full = parsed("redis://:secret@cache.internal:6380/3");
  CHECK(full.host == "cache.internal");
  CHECK(full.port == 6380);
  CHECK(full.db == 3);
  CHECK(full.password == "secret");
  CHECK(full.username.empty());
  CHECK(full.has_credentials);

  RedisAddress acl = parsed("redis://metrics:secret@cache");
  CHECK(acl.username == "metrics");
  CHECK(acl.password == "secret");
  RedisAddress nopass = parsed("redis://metrics@cache");
  CHECK(nopass.username == "metrics");
  CHECK(nopass.password.empty());
  CHECK(nopass.has_credentials);

  RedisAddress bare = parsed("redis://cache");
  CHECK(bare.host == "cache");
  CHECK(bare.port == 6379);
  CHECK(bare.db == 0);
  CHECK(bare.password.empty());
  CHECK_FALSE(bare.has_credentials);

  CHECK(parsed("redis://cache/").db == 0);
  CHECK(parsed("redis://127.0.0.1/7").db == 7);

  RedisAddress v6 = parsed("redis://[::1]:6390");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 6390);
  CHECK(parsed("redis://[::1]").port == 6379);
}

TEST_CASE("rediss:// asks for TLS") {
  RedisAddress tls = parsed("rediss://:pw@cache:6380/2");
  CHECK(tls.tls);
  CHECK(tls.host == "cache");
  CHECK(tls.port == 6380);
  CHECK(tls.db == 2);
  CHECK_FALSE(parsed("redis://cache").tls);
}

TEST_CASE("the user name and password are percent-decoded: / # ? @ % : work in both") {
  CHECK(parsed("redis://:p%40ss%2Fword@cache").password == "p@ss/word");
  RedisAddress address = parsed("redis://us%3Aer%40x:p%2F%23%3F%40%25%3Aw@cache:6390/1");
  CHECK(address.username == "us:er@x");
  CHECK(address.password == "p/#?@%:w");
  CHECK(address.host == "cache");
  CHECK(address.port == 6390);
  CHECK(address.db == 1);
}

TEST_CASE("bad URLs say what is wrong without repeating the password") {
  CHECK(problem_of("http://cache") == "expected a redis:// or rediss:// URL, got \"http://cache\"");
  CHECK(problem_of("redis://") == "the host is missing in \"redis://\"");
  CHECK(problem_of("redis://cache:0") == "expected a port 1..65535 in \"redis://cache:0\"");
  CHECK(problem_of("redis://cache:port") == "expected a port 1..65535 in \"redis://cache:port\"");
  CHECK(problem_of("redis://cache/x") ==
        "expected a database number after /, got \"x\" in \"redis://cache/x\"");
  CHECK(problem_of("redis://user:secret@cache:x") ==
        "expected a port 1..65535 in \"redis://user:***@cache:x\"");
  CHECK(problem_of("redis://us%zzer:secret@cache") ==
        "bad percent-encoding in the user name in \"redis://us%zzer:***@cache\"");
  CHECK(problem_of("redis://:bad%zz@cache") ==
        "bad percent-encoding in the password in \"redis://:***@cache\"");
  CHECK(problem_of("redis://:secret@cache?db=1") ==
        "query parameters and fragments are not supported in \"redis://:***@cache?db=1\"");
  CHECK(problem_of("redis://[::1:6379") == "unclosed [ in the host in \"redis://[::1:6379\"");
}
