// net::TcpStream on a real loop against real loopback sockets: bytes both ways, a name looked
// up off the loop, the next address after a refused one, failures reported once, and a stream
// destroyed from its own handler or in the middle of a lookup.
#include "net/tcp_stream.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "support/redis_server.hpp"
#include "support/uv_loop.hpp"

using namespace prefork;
using prefork::testing::close_loop;
using prefork::testing::run_until;

namespace {

// A listening socket on 127.0.0.1 only; connects complete in the kernel's backlog.
struct Listener {
  UniqueFd fd{::socket(AF_INET, SOCK_STREAM, 0)};
  int port = 0;
  Listener() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd.get(), 8) == 0);
    socklen_t length = sizeof address;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  UniqueFd accept() const { return UniqueFd(::accept(fd.get(), nullptr, nullptr)); }
};

struct Recorder {
  int connected = 0;
  std::string received;
  std::vector<std::string> failures;
  net::TcpStream::Events events() {
    return {[this] { ++connected; }, [this](std::string_view bytes) { received += bytes; },
            [this](const std::string& reason) { failures.push_back(reason); }};
  }
};

struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() { CHECK(close_loop(&loop) == 0); }
};

}  // namespace

TEST_CASE("an IP address connects, bytes go both ways, and the peer's close is one failure") {
  Loop loop;
  Listener listener;
  Recorder recorder;
  auto stream = std::make_unique<net::TcpStream>(&loop.loop, recorder.events());
  stream->connect("127.0.0.1", listener.port);
  REQUIRE(run_until(
      &loop.loop, [&] { return recorder.connected == 1; }, 5));
  UniqueFd peer = listener.accept();
  stream->write("PING\r\n");
  stream->write("PING\r\n");
  char buffer[64];
  std::string got;
  while (got.size() < 12) {
    run_until(
        &loop.loop, [] { return true; }, 0);
    ssize_t length = ::recv(peer.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (length > 0) got.append(buffer, std::size_t(length));
  }
  CHECK(got == "PING\r\nPING\r\n");
  REQUIRE(::send(peer.get(), "+PONG\r\n", 7, 0) == 7);
  CHECK(run_until(
      &loop.loop, [&] { return recorder.received == "+PONG\r\n"; }, 5));
  peer.reset();
  CHECK(run_until(
      &loop.loop, [&] { return !recorder.failures.empty(); }, 5));
  run_until(
      &loop.loop, [] { return false; }, 0.05);
  CHECK(recorder.failures == std::vector<std::string>{"the server closed the connection"});
  stream.reset();
}

TEST_CASE("a name is looked up off the loop") {
  Loop loop;
  Listener listener;
  Recorder recorder;
  net::TcpStream stream(&loop.loop, recorder.events());
  stream.connect("localhost", listener.port);
  CHECK(run_until(
      &loop.loop, [&] { return recorder.connected == 1; }, 5));
  CHECK(recorder.failures.empty());
}

TEST_CASE("a refused address gives way to the next (localhost as ::1, then 127.0.0.1)") {
  Loop loop;
  Listener listener;
  auto loopback = [](int port) {
    sockaddr_storage address{};
    uv_ip4_addr("127.0.0.1", port, reinterpret_cast<sockaddr_in*>(&address));
    return address;
  };
  Recorder recorder;
  net::TcpStream stream(&loop.loop, recorder.events());
  stream.connect({loopback(prefork::testing::unused_port()), loopback(listener.port)});
  CHECK(run_until(
      &loop.loop, [&] { return recorder.connected == 1; }, 5));
  CHECK(recorder.failures.empty());
  UniqueFd peer = listener.accept();
  CHECK(bool(peer));
}

TEST_CASE("a refused connect is one failure that says why") {
  Loop loop;
  Recorder recorder;
  net::TcpStream stream(&loop.loop, recorder.events());
  stream.connect("127.0.0.1", prefork::testing::unused_port());
  REQUIRE(run_until(
      &loop.loop, [&] { return !recorder.failures.empty(); }, 5));
  CHECK(recorder.failures.size() == 1);
  CHECK(recorder.failures.front() == "connection refused");
  CHECK(recorder.connected == 0);
}

TEST_CASE("a handler may destroy the stream; one destroyed during a lookup reports nothing") {
  Loop loop;
  Listener listener;
  std::unique_ptr<net::TcpStream> stream;
  int received = 0;
  stream = std::make_unique<net::TcpStream>(
      &loop.loop, net::TcpStream::Events{[] {},
                                         [&](std::string_view) {
                                           ++received;
                                           stream.reset();
                                         },
                                         [](const std::string&) { FAIL("no failure expected"); }});
  stream->connect("127.0.0.1", listener.port);
  UniqueFd peer;
  REQUIRE(run_until(
      &loop.loop, [&] { return (peer = listener.accept()) ? true : false; }, 5));
  REQUIRE(::send(peer.get(), "x", 1, 0) == 1);
  CHECK(run_until(
      &loop.loop, [&] { return stream == nullptr; }, 5));
  CHECK(received == 1);

  Recorder recorder;
  auto looking_up = std::make_unique<net::TcpStream>(&loop.loop, recorder.events());
  looking_up->connect("localhost", listener.port);
  looking_up.reset();
  run_until(
      &loop.loop, [] { return false; }, 0.2);
  CHECK(recorder.connected == 0);
  CHECK(recorder.failures.empty());
}
