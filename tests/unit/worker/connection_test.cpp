// The worker's connection handling under slow, hostile and many clients.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "examples/hello/hello_app.hpp"
#include "tests/unit/worker/harness.hpp"

using namespace prefork;
using namespace prefork::testing;

TEST_CASE("a slow body as the first request gets body_timeout, not header_timeout") {
  config::Config config = test_config();
  config.limits.header_timeout = 0.3;
  config.limits.body_timeout = 3;
  WorkerProcess worker(config, examples::HelloApp::make);
  RawClient client(worker.port());
  client.send("POST /echo HTTP/1.1\r\nContent-Length: 8\r\n\r\n");
  // Each byte comes well within body_timeout; together they take longer than header_timeout.
  const std::string body = "slowbody";
  for (char byte : body) {
    std::this_thread::sleep_for(100ms);
    REQUIRE(client.send_within(std::string_view(&byte, 1), 1s));
  }
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == body);
}
