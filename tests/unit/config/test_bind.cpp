// Bind address forms.
#include "load_helpers.hpp"

#include <doctest/doctest.h>

using namespace prefork::config;
using namespace prefork::config::testing;

TEST_CASE("HOST:PORT, [V6]:PORT and :PORT are TCP binds") {
  Bind v4 = bound("127.0.0.1:8000");
  CHECK(v4.kind == Bind::Kind::tcp);
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 8000);
  CHECK(v4.text == "127.0.0.1:8000");

  Bind v6 = bound("[::1]:0");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 0);

  Bind any = bound(":9000");
  CHECK(any.host == "0.0.0.0");
  CHECK(any.port == 9000);

  CHECK(bound("[::]:65535").host == "::");
  CHECK(bound("localhost:80").host == "127.0.0.1");
}

TEST_CASE("unix: and fd:// binds") {
  Bind socket = bound("unix:/run/prefork.sock");
  CHECK(socket.kind == Bind::Kind::unix_socket);
  CHECK(socket.path == "/run/prefork.sock");
  CHECK(socket.text == "unix:/run/prefork.sock");

  Bind inherited = bound("fd://3");
  CHECK(inherited.kind == Bind::Kind::fd);
  CHECK(inherited.fd == 3);
}

TEST_CASE("malformed binds say what is wrong") {
  const std::string forms = "expected HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N, got ";
  CHECK(problem_of("127.0.0.1") == forms + "\"127.0.0.1\"");
  CHECK(problem_of("") == forms + "\"\"");
  CHECK(problem_of("[::1]") == forms + "\"[::1]\"");
  CHECK(problem_of("[::1]8000") == forms + "\"[::1]8000\"");
  CHECK(problem_of("127.0.0.1:") == "expected a port 0..65535, got \"127.0.0.1:\"");
  CHECK(problem_of("127.0.0.1:-1") == "expected a port 0..65535, got \"127.0.0.1:-1\"");
  CHECK(problem_of("127.0.0.1:80x") == "expected a port 0..65535, got \"127.0.0.1:80x\"");
  CHECK(problem_of("127.0.0.1:65536") == "expected a port 0..65535, got \"127.0.0.1:65536\"");
  CHECK(problem_of("::1:80") == "IPv6 addresses need brackets, e.g. [::1]:8000, got \"::1:80\"");
  CHECK(problem_of("[127.0.0.1]:80") ==
        "expected an IPv6 address inside [], got \"[127.0.0.1]:80\"");
  CHECK(problem_of("example.com:80") ==
        "expected an IP address (or localhost) as host, got \"example.com:80\"");
  CHECK(problem_of("999.0.0.1:80") ==
        "expected an IP address (or localhost) as host, got \"999.0.0.1:80\"");
  CHECK(problem_of("unix:") == "unix socket path is empty in \"unix:\"");
  CHECK(problem_of("fd://") == "expected a file descriptor number after fd://, got \"fd://\"");
  CHECK(problem_of("fd://-1") == "expected a file descriptor number after fd://, got \"fd://-1\"");
  CHECK(problem_of("fd://3x") == "expected a file descriptor number after fd://, got \"fd://3x\"");
}

TEST_CASE("a failed parse leaves the bind untouched") {
  Bind bind = bound("127.0.0.1:1");
  CHECK_FALSE(parse_bind("nonsense", bind).ok());
  CHECK(bind.port == 1);
  CHECK(bind.text == "127.0.0.1:1");
}
