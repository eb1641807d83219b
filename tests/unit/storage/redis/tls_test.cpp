// Redis over TLS against a real redis-server with a TLS port and certificates the test makes:
// the blocking client and the flusher, the CA and host name checks, client certificates.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fixture.hpp"
#include "storage/redis/endpoint.hpp"
#include "storage/redis/errors.hpp"
#include "storage/redis/flusher.hpp"
#include "support/certificates.hpp"

using namespace prefork::storage;
using prefork::metrics::ProcessValues;
using prefork::testing::Certificates;
using prefork::testing::RedisServer;
using namespace redis_test;

namespace {

// One CA, a server certificate for localhost and 127.0.0.1, and a client certificate.
struct TlsSetup {
  Certificates certificates;
  TlsSetup() {
    certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
    certificates.issue("client", "DNS:prefork-client", true);
  }
  RedisServer::Options options(bool auth_clients = false) const {
    return {"", RedisServer::Tls::issued(certificates, "server", auth_clients), {}, {}};
  }
};

// The endpoint of the server's TLS port, with tls applied from redis as prefork would.
RedisEndpoint tls_endpoint(const RedisServer& server, prefork::config::Redis redis) {
  redis.host = server.host();
  redis.port = server.tls_port();
  redis.ssl = true;
  prefork::Result<RedisEndpoint> endpoint = resolve_endpoint(redis, "");
  INFO(endpoint.message());
  REQUIRE(endpoint.ok());
  return *endpoint;
}

prefork::config::Redis trusting(const std::string& ca) {
  prefork::config::Redis redis;
  redis.ssl_ca_certs = ca;
  redis.connect_timeout = 2;
  redis.command_timeout = 2;
  return redis;
}

using Loop = prefork::testing::TestLoop;

// What a connection and a first command fail with; "" when they do not.
std::string refusal_of(RedisStorageClient& client) {
  try {
    client.connect();
    client.command({"PING"});
  } catch (const RedisConnectionError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the blocking client talks to Redis over TLS") {
  TlsSetup setup;
  RedisServer server(setup.options());
  RedisStorageClient client(tls_endpoint(server, trusting(setup.certificates.ca())));
  client.connect();
  CHECK(client.ping());
  client.command({"SET", "over-tls", std::string(100000, 'x')});
  CHECK(text_of(client, {"GET", "over-tls"}).size() == 100000);
  // The plain port sees what went over TLS.
  CHECK(integer_of(*inspector(server), {"STRLEN", "over-tls"}) == 100000);
}

TEST_CASE("a server certificate from another CA is refused, saying why") {
  TlsSetup setup;
  RedisServer server(setup.options());
  RedisStorageClient client(tls_endpoint(server, trusting(setup.certificates.other_ca())));
  std::string refusal = refusal_of(client);
  CHECK(refusal.find("certificate verify failed") != std::string::npos);
  // Our own refusal of the server: no hint about client certificates.
  CHECK(refusal.find("ssl_certfile") == std::string::npos);
  // ssl_cert_reqs = "none" does not check it.
  prefork::config::Redis unchecked = trusting(setup.certificates.other_ca());
  unchecked.ssl_cert_reqs = "none";
  RedisStorageClient trusting_anyone(tls_endpoint(server, unchecked));
  trusting_anyone.connect();
  CHECK(trusting_anyone.ping());
}

TEST_CASE("the host name is checked against the certificate unless ssl_check_hostname is off") {
  TlsSetup setup;
  setup.certificates.issue("elsewhere", "DNS:redis.elsewhere.example");
  RedisServer server({"", RedisServer::Tls::issued(setup.certificates, "elsewhere"), {}, {}});
  RedisStorageClient checked(tls_endpoint(server, trusting(setup.certificates.ca())));
  CHECK_THROWS_WITH_AS(checked.connect(), doctest::Contains("mismatch"), RedisConnectionError);
  prefork::config::Redis unchecked = trusting(setup.certificates.ca());
  unchecked.ssl_check_hostname = false;
  RedisStorageClient client(tls_endpoint(server, unchecked));
  client.connect();
  CHECK(client.ping());
}

TEST_CASE("a Redis that requires a client certificate refuses a client without one") {
  TlsSetup setup;
  RedisServer server(setup.options(true));
  RedisStorageClient anonymous(tls_endpoint(server, trusting(setup.certificates.ca())));
  // TLS 1.3 ends the client's handshake before the server has checked it: the refusal comes on
  // the first command, as the server's alert, or as its reset when that overtakes the alert.
  std::string refusal = refusal_of(anonymous);
  INFO(refusal);
  CHECK((refusal.find("certificate required") != std::string::npos ||
         refusal.find("Connection reset by peer") != std::string::npos));
  CHECK(refusal.find("set redis.ssl_certfile") != std::string::npos);
  prefork::config::Redis with_certificate = trusting(setup.certificates.ca());
  with_certificate.ssl_certfile = setup.certificates.file("client.pem");
  with_certificate.ssl_keyfile = setup.certificates.file("client.key");
  RedisStorageClient client(tls_endpoint(server, with_certificate));
  client.connect();
  CHECK(client.ping());
}

TEST_CASE("a TLS file that cannot be used is an error naming it") {
  TlsSetup setup;
  prefork::config::Redis redis = trusting(setup.certificates.file("client.key"));
  redis.ssl = true;
  prefork::Result<RedisEndpoint> endpoint = resolve_endpoint(redis, "");
  REQUIRE_FALSE(endpoint.ok());
  CHECK(endpoint.message().find(setup.certificates.file("client.key")) != std::string::npos);
}

TEST_CASE("the flusher writes over TLS, and a wrong CA keeps it disconnected with the reason") {
  TlsSetup setup;
  RedisServer server(setup.options(true));
  prefork::config::Redis redis = trusting(setup.certificates.ca());
  redis.ssl_certfile = setup.certificates.file("client.pem");
  redis.ssl_keyfile = setup.certificates.file("client.key");
  Loop loop;
  RedisStorageClient client(tls_endpoint(server, redis));
  RedisStorageDict dict(client, "test", 60);
  {
    RedisFlusher flusher(dict, &loop.loop);
    ProcessValues group{counter(), "51", {}};
    for (int i = 0; i < 200; ++i) {
      std::string name = "c";
      name += std::to_string(i);  // not "c" + …: GCC 12 warns at -O3 (-Wrestrict, a false positive)
      group.values.push_back({key_of(name, name + "_total"), double(i), 0});
    }
    flusher.write_values({group});
    REQUIRE(run_until(
        &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 5));
    CHECK(flusher.stats().failed_batches == 0);
  }
  CHECK(dict.size("51") == 200);

  RedisStorageClient wrong_client(tls_endpoint(server, trusting(setup.certificates.other_ca())));
  RedisStorageDict wrong_dict(wrong_client, "test", 60);
  RedisFlusher refused(wrong_dict, &loop.loop);
  refused.write_values({ProcessValues{counter(), "52", {{key_of("x", "x_total"), 1, 0}}}});
  CHECK(run_until(
      &loop.loop,
      [&] { return refused.last_error().find("certificate verify failed") != std::string::npos; },
      5));
  CHECK_FALSE(refused.is_connected());
}

TEST_CASE("a TLS handshake that never finishes times out; the loop is never blocked") {
  TlsSetup setup;
  RedisServer server(setup.options());
  prefork::config::Redis redis = trusting(setup.certificates.ca());
  redis.connect_timeout = 0.3;
  RedisEndpoint endpoint = tls_endpoint(server, redis);
  server.freeze();  // the kernel still accepts the TCP connection; nothing answers the hello
  RedisStorageClient blocking(endpoint);
  CHECK_THROWS_WITH_AS(blocking.connect(), doctest::Contains("TLS handshake"), RedisTimeoutError);

  Loop loop;
  RedisStorageClient client(endpoint);
  RedisStorageDict dict(client, "test", 60);
  RedisFlusher flusher(dict, &loop.loop);
  flusher.write_values({ProcessValues{counter(), "61", {{key_of("x", "x_total"), 1, 0}}}});
  auto started = std::chrono::steady_clock::now();
  int turns = 0;
  CHECK(run_until(
      &loop.loop,
      [&] {
        ++turns;
        return flusher.last_error() == "connecting timed out";
      },
      5));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  CHECK(turns > 10);  // the 5 ms tick kept running while the handshake hung
  server.thaw();
  CHECK(run_until(
      &loop.loop, [&] { return flusher.is_connected() && flusher.is_idle(); }, 10));
}
