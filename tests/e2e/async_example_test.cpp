// examples/async, as a user runs it: the static server and the .so under the prefork binary,
// with both worker classes. Every route is asked for, and the slow ones must not hold up others.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// What runs the example: the binary and its arguments, but for the listener.
struct Launch {
  std::string binary;
  std::vector<std::string> args;
};

std::vector<Launch> launches() {
  std::string module = built_path("ASYNC_MODULE") + ":async";
  return {
      {built_path("ASYNC_BINARY"), {"-w", "1"}},
      {prefork_binary(), {"-w", "1", "--app", module}},
      {prefork_binary(), {"-w", "1", "-k", "threads", "--threads", "2", "--app", module}},
  };
}

void check_routes(int port) {
  Reply primes = http_get(port, "/compute?n=100");
  CHECK(primes.status == 200);
  CHECK(primes.body == "{\"n\":100,\"primes\":25}\n");
  CHECK(primes.head.find("Content-Type: application/json") != std::string::npos);
  CHECK(http_get(port, "/compute?n=1000000").body == "{\"n\":1000000,\"primes\":78498}\n");
  CHECK(http_get(port, "/compute?n=many").status == 400);
  CHECK(http_get(port, "/compute?n=20000000").status == 400);

  auto started = Clock::now();
  Reply delayed = http_get(port, "/delay?ms=300");
  CHECK(delayed.status == 200);
  CHECK(delayed.body == "waited 300 ms\n");
  CHECK(Clock::now() - started >= 300ms);
  CHECK(http_get(port, "/delay?ms=-1").status == 400);
  CHECK(http_get(port, "/delay").status == 400);

  CHECK(http_get(port, "/nowhere").status == 404);
}

// With one worker, a pending delay leaves the loop free: a request sent after it (and after a
// computation, which takes a thread of the pool) is answered long before the delay is over.
void check_nothing_blocks(int port) {
  auto started = Clock::now();
  Client waiting(port);
  REQUIRE(waiting.send_get("/delay?ms=3000"));
  Client computing(port);
  REQUIRE(computing.send_get("/compute?n=10000000"));
  Client quick(port);
  Reply answer = quick.get("/compute?n=10");
  CHECK(answer.body == "{\"n\":10,\"primes\":4}\n");
  CHECK(Clock::now() - started < 2500ms);
  Reply computed = computing.read_reply();
  CHECK(computed.body == "{\"n\":10000000,\"primes\":664579}\n");
  Reply waited = waiting.read_reply();
  CHECK(waited.body == "waited 3000 ms\n");
  CHECK(Clock::now() - started >= 3000ms);
}

}  // namespace

TEST_CASE(
    "every route of the async example answers, as a binary and as a .so, both worker "
    "classes") {
  for (const Launch& launch : launches()) {
    std::vector<std::string> args = launch.args;
    args.insert(args.begin(), {"-b", "127.0.0.1:0"});
    std::string described;
    for (const std::string& arg : args) described += arg + " ";
    CAPTURE(described);
    Server server(launch.binary, args);
    int port = server.serving_port(1);
    REQUIRE(port > 0);
    check_routes(port);
    check_nothing_blocks(port);
    server.signal(SIGTERM);
    CHECK(server.wait_exit() == 0);
  }
}
