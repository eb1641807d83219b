// Redis storage logic that needs no server: URLs, endpoints, key names, number text.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/keys.hpp"

using namespace prefork::storage;

namespace {

// The endpoint of a configuration loaded from these environment variables, or the loader's
// error: the way every URL reaches the storage.
prefork::Result<RedisEndpoint> endpoint_from(std::vector<std::string> environment) {
  std::vector<const char*> envp;
  for (const std::string& variable : environment) envp.push_back(variable.c_str());
  envp.push_back(nullptr);
  const char* argv[] = {"prefork", nullptr};
  prefork::config::LoadResult loaded = prefork::config::load(1, argv, envp.data());
  if (!loaded.config) return prefork::Status::error(loaded.message);
  return resolve_endpoint(loaded.config->redis, "");
}

prefork::Result<RedisEndpoint> resolve_url(const std::string& url) {
  return endpoint_from({"PROMETHEUS_REDIS_URL=" + url});
}

// The endpoint a configuration resolved to, field by field.
void check_endpoint(const prefork::Result<RedisEndpoint>& endpoint, const std::string& host,
                    int port, int db, const std::string& password) {
  REQUIRE(endpoint.ok());
  CHECK(endpoint->host == host);
  CHECK(endpoint->port == port);
  CHECK(endpoint->db == db);
  CHECK(endpoint->password == password);
}

}  // namespace

TEST_CASE("a full redis URL gives host, port, db and password") {
  check_endpoint(resolve_url("redis://:s%40cret@redis.example:6380/3"), "redis.example", 6380, 3,
                 "s@cret");
}

TEST_CASE("a short redis URL keeps the defaults; IPv6 hosts are understood") {
  check_endpoint(resolve_url("redis://localhost"), "localhost", 6379, 0, "");
  prefork::Result<RedisEndpoint> v6 = resolve_url("redis://[::1]:7000/0");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7000);
}

TEST_CASE("malformed URLs are refused with a reason that never shows the password") {
  for (const char* url :
       {"http://localhost:6379", "redis://:pw@localhost:notaport", "redis://:pw@localhost:70000",
        "redis://:pw@localhost/x", "redis://:pw@/0"}) {
    prefork::Result<RedisEndpoint> result = resolve_url(url);
    CHECK_MESSAGE(!result.ok(), url);
    CHECK_MESSAGE(result.message().find("pw") == std::string::npos, url);
  }
}

TEST_CASE("rediss:// or REDIS_SSL give the endpoint a TLS context; redis:// does not") {
  prefork::Result<RedisEndpoint> url = resolve_url("rediss://localhost:6390/0");
  REQUIRE(url.ok());
  CHECK(url->tls != nullptr);
  CHECK(url->port == 6390);
  prefork::Result<RedisEndpoint> flag = endpoint_from({"REDIS_SSL=true"});
  REQUIRE(flag.ok());
  CHECK(flag->tls != nullptr);
  CHECK(resolve_url("redis://localhost").value().tls == nullptr);
}

TEST_CASE("an ACL user comes from the URL, or from REDIS_USERNAME for a URL without one") {
  prefork::Result<RedisEndpoint> url = endpoint_from(
      {"REDIS_USERNAME=old", "REDIS_PASSWORD=old", "PROMETHEUS_REDIS_URL=redis://me:p%40w@cache"});
  check_endpoint(url, "cache", 6379, 0, "p@w");
  CHECK(url->username == "me");
  CHECK(auth_command(*url) == std::vector<std::string>{"AUTH", "me", "p@w"});
  prefork::Result<RedisEndpoint> kept = endpoint_from(
      {"REDIS_USERNAME=me", "REDIS_PASSWORD=pw", "PROMETHEUS_REDIS_URL=redis://cache"});
  REQUIRE(kept.ok());
  CHECK(kept->username == "me");
  CHECK(auth_command(*kept) == std::vector<std::string>{"AUTH", "me", "pw"});
  // ":password@" is the default user: the URL's empty user name wins over REDIS_USERNAME.
  prefork::Result<RedisEndpoint> plain =
      endpoint_from({"REDIS_USERNAME=me", "PROMETHEUS_REDIS_URL=redis://:pw@cache"});
  REQUIRE(plain.ok());
  CHECK(auth_command(*plain) == std::vector<std::string>{"AUTH", "pw"});
  CHECK(auth_command(RedisEndpoint{}).empty());
}

TEST_CASE("the URL overrides the separate fields; the password field fills a URL without one") {
  check_endpoint(endpoint_from({"REDIS_HOST=ignored", "REDIS_PORT=1", "REDIS_PASSWORD=fallback",
                                "PROMETHEUS_REDIS_URL=redis://127.0.0.1:6390/2"}),
                 "127.0.0.1", 6390, 2, "fallback");
}

TEST_CASE("PROMETHEUS_REDIS_URL wins over host, port, db and password") {
  check_endpoint(
      endpoint_from({"REDIS_HOST=ignored", "REDIS_PORT=1234", "REDIS_DB=5", "REDIS_PASSWORD=old",
                     "PROMETHEUS_REDIS_URL=redis://:pw@cache:6400/2"}),
      "cache", 6400, 2, "pw");
  prefork::Result<RedisEndpoint> defaults =
      endpoint_from({"REDIS_PORT=1234", "PROMETHEUS_REDIS_URL=redis://cache"});
  REQUIRE(defaults.ok());
  CHECK(defaults->port == 6379);
  CHECK(defaults->db == 0);
}

TEST_CASE("keys follow {prefix}:{kind}:{process}:{metric|meta}:{md5}") {
  RedisKeys keys("gunicorn");
  std::string json =
      R"(["gunicorn_requests_total", "requests_total", {"method": "GET"}, "Requests"])";
  std::string md5 = prefork::metrics::md5_hex(json);
  CHECK(md5.size() == 32);
  CHECK(keys.metric("gauge_all", "12345", md5) == "gunicorn:gauge_all:12345:metric:" + md5);
  CHECK(keys.meta("counter", "12345", md5) == "gunicorn:counter:12345:meta:" + md5);
  CHECK(keys.processes() == "gunicorn:processes");
  CHECK(keys.process("web-12") == "gunicorn:process:web-12");

  std::string_view kind, hash;
  std::string series = RedisKeys::series("gauge_livesum", md5);
  CHECK(series == "gauge_livesum:" + md5);
  REQUIRE(RedisKeys::split_series(series, kind, hash));
  CHECK(kind == "gauge_livesum");
  CHECK(hash == md5);
  CHECK_FALSE(RedisKeys::split_series("nocolon", kind, hash));
}

TEST_CASE("process names carry the instance, and only this instance's pids are recognised") {
  CHECK(process_name("", 42) == "42");
  CHECK(process_name("web", 42) == "web-42");
  CHECK(archive_process("") == "archive");
  CHECK(archive_process("web") == "web-archive");
  CHECK(pid_of_process("", "42") == 42);
  CHECK(pid_of_process("web", "web-42") == 42);
  CHECK(pid_of_process("web", "api-42") == -1);
  CHECK(pid_of_process("web", "web-archive") == -1);
  CHECK(pid_of_process("", "web-42") == -1);
  CHECK(pid_of_process("", "archive") == -1);
  CHECK(instance_of_process("web-42") == "web");
  CHECK(instance_of_process("web-1-archive") == "web-1");
  CHECK(instance_of_process("42") == "");
  CHECK(instance_of_process("archive") == "");
}

TEST_CASE("doubles survive the trip through text exactly") {
  for (double value : {0.0, 1.0, 0.1, 1e300, -2.5e-308, 123456789.123456789}) {
    double back = 0;
    REQUIRE(parse_double(format_double(value), back));
    CHECK(back == value);
  }
  double back = 0;
  REQUIRE(parse_double(format_double(NAN), back));
  CHECK(std::isnan(back));
  REQUIRE(parse_double(format_double(-INFINITY), back));
  CHECK(back == -INFINITY);
  // What other writers may store still reads as strtod reads it.
  REQUIRE(parse_double("+1.5", back));
  CHECK(back == 1.5);
  REQUIRE(parse_double("0x10", back));
  CHECK(back == 16);
  CHECK_FALSE(parse_double("12abc", back));
  CHECK_FALSE(parse_double("", back));
}
