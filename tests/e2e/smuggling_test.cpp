// Request smuggling over a real socket (issue 13): a request that a proxy in front may frame
// differently from us is refused with 400 and the connection closes, so that nothing hidden in
// or after it is ever answered; the worker lives on.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

std::size_t count_of(std::string_view text, std::string_view part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

// Each shape is followed on the same connection by a request the app would answer with 404.
const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

struct Shape {
  std::string name;
  std::string bytes;
};

std::vector<Shape> shapes() {
  return {
      {"a bare CR inside a value hides a Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: a\r\nX: \rxTransfer-Encoding: chunked\r\nContent-Length: " +
           std::to_string(smuggled.size() + 5) + "\r\n\r\n0\r\n\r\n" + smuggled},
      {"a space before the colon of Content-Length",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n" + smuggled},
      {"Content-Length folded into the value before it",
       "POST / HTTP/1.1\r\nHost: a\r\nX: a\r\n Content-Length: 0\r\n\r\n" + smuggled},
      {"a field name with a space", "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n" + smuggled},
      {"a request line ended by a bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n" + smuggled},
      {"chunked on HTTP/1.0",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
      {"chunk data not followed by CRLF",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n" +
           smuggled},
      {"a chunked body ended by a bare LF",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n" + smuggled},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled},
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n" + smuggled},
      {"Transfer-Encoding and Content-Length",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n" +
           smuggled},
      {"two Content-Lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n" + smuggled},
  };
}

}  // namespace

TEST_CASE("smuggling shapes get one 400 and a closed connection; the hidden request never runs") {
  TempDir directory;
  std::string log_path = directory.file("access.log");
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--access-logfile", log_path});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  std::vector<pid_t> workers = server.workers();

  for (const Shape& shape : shapes()) {
    CAPTURE(shape.name);
    std::string reply = raw_exchange(port, shape.bytes);
    CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(count_of(reply, "HTTP/1.1 ") == 1);  // nothing after the refusal is answered
    CHECK(reply.find("Connection: close\r\n") != std::string::npos);
  }

  // One worker serves in order: once this request is logged, every earlier one would be too.
  CHECK(http_get(port, "/after").status == 404);
  REQUIRE(eventually([&] { return read_whole(log_path).find("/after") != std::string::npos; }));
  CHECK(read_whole(log_path).find("/smuggled") == std::string::npos);
  CHECK(count_of(read_whole(log_path), "\"-\" 400 ") == shapes().size());
  CHECK(server.workers() == workers);  // the worker lived on
}

TEST_CASE("a well-framed pipeline on the same connection is answered whole, in order") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);
  std::string reply = raw_exchange(
      port,
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
      "GET /second HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  CHECK(count_of(reply, "HTTP/1.1 ") == 3);
  std::size_t not_found = reply.find("HTTP/1.1 404 ");
  CHECK(not_found != std::string::npos);
  CHECK(reply.rfind("HTTP/1.1 200 ") > not_found);
}
