// examples/async, as a user runs it: the static server and the .so under the prefork binary,
// with both worker classes. Every route is asked for, the slow ones must not hold up others, and
// the streamed ones must stream: a download with back-pressure, events as they happen.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// libuv's loop keeps time in whole milliseconds, so a timer may fire up to 1 ms before its time
// as a steady clock measures it.
constexpr auto timer_grain = 1ms;

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

// A GET on a connection of its own ("Connection: close"), read as the bytes arrive (http_get
// returns a reply only when it is whole).
class ArrivingReply {
 public:
  ArrivingReply(int port, std::string_view target) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string request =
        "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~ArrivingReply() {
    if (fd_ >= 0) ::close(fd_);
  }
  ArrivingReply(const ArrivingReply&) = delete;
  ArrivingReply& operator=(const ArrivingReply&) = delete;

  // Appends what arrives next to received; false at the end, on an error or after 10 s of
  // silence.
  bool receive() {
    pollfd ready{fd_, POLLIN, 0};
    if (fd_ < 0 || poll(&ready, 1, 10'000) <= 0) return false;
    char buffer[65536];
    ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    if (got <= 0) return false;
    received.append(buffer, std::size_t(got));
    return true;
  }
  // Reads until the head is in; false if it never comes.
  bool head_arrived() {
    while (received.find("\r\n\r\n") == std::string::npos) {
      if (!receive()) return false;
    }
    return true;
  }
  std::string head() const { return received.substr(0, received.find("\r\n\r\n") + 4); }
  std::string_view body() const { return std::string_view(received).substr(head().size()); }

  std::string received;

 private:
  int fd_ = -1;
};

bool has_header(const std::string& head, std::string_view line) {
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
}

// A chunked body, decoded; nullopt when its framing is broken or its last chunk is missing.
std::optional<std::string> dechunked(std::string_view body) {
  std::string decoded;
  for (;;) {
    std::size_t line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    auto [end, error] = std::from_chars(body.data(), body.data() + line_end, size, 16);
    std::size_t data_at = line_end + 2;
    if (error != std::errc() || end != body.data() + line_end ||
        body.substr(data_at + size, 2) != "\r\n")
      return std::nullopt;
    if (size == 0) return body.size() == data_at + 2 ? std::optional(decoded) : std::nullopt;
    decoded.append(body.substr(data_at, size));
    body.remove_prefix(data_at + size + 2);
  }
}

// The worker's loop waits for its sockets and timers: it has done whatever it could.
bool loop_waiting(pid_t worker) {
  long call = current_syscall(worker);
  return call == SYS_epoll_wait || call == SYS_epoll_pwait;
}

// 64 MiB, all zeros, exactly as many as the Content-Length says. The worker writes no further
// ahead than the client reads: while the client reads nothing past the head, the worker holds
// a few hundred KiB of the download, where an example that ignored write()'s answer would hold
// all of it.
void check_download(int port, pid_t worker) {
  constexpr std::size_t size = std::size_t(64) << 20;
  long before = rss_kib(worker);
  ArrivingReply download(port, "/bytes?mib=64");
  REQUIRE(download.head_arrived());
  REQUIRE(prefork::testing::eventually([&] { return loop_waiting(worker); }));
  long held = rss_kib(worker);
  while (download.receive()) {
  }
  std::string head = download.head();
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(has_header(head, "Content-Type: application/octet-stream"));
  CHECK(has_header(head, "Content-Length: " + std::to_string(size)));
  std::string_view body = download.body();
  CHECK(body.size() == size);
  CHECK(std::all_of(body.begin(), body.end(), [](char byte) { return byte == '\0'; }));
  MESSAGE("worker RSS " << before << " KiB before the download, " << held
                        << " KiB while its client did not read");
  CHECK(held - before < 8 * 1024);

  Reply empty = http_get(port, "/bytes?mib=0");
  CHECK(empty.status == 200);
  CHECK(has_header(empty.head + "\r\n", "Content-Length: 0"));
  CHECK(empty.body.empty());
  CHECK(http_get(port, "/bytes?mib=-1").status == 400);
  CHECK(http_get(port, "/bytes?mib=1025").status == 400);
}

// Four events 200 ms apart: each arrives on its own and in order, a period after the one before.
void check_events(int port) {
  auto asked = Clock::now();
  ArrivingReply events(port, "/events?count=4&ms=200");
  std::vector<Clock::time_point> arrivals;  // when each event's blank line came
  while (events.receive()) {
    // Chunk framing and the head end lines with \r\n: "\n\n" ends an event.
    std::size_t ended = 0;
    for (std::size_t at = 0; (at = events.received.find("\n\n", at)) != std::string::npos; at += 2)
      ++ended;
    arrivals.resize(ended, Clock::now());
  }
  std::string head = events.head();
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(has_header(head, "Content-Type: text/event-stream"));
  CHECK(has_header(head, "Cache-Control: no-cache"));
  CHECK(has_header(head, "Transfer-Encoding: chunked"));
  CHECK(dechunked(events.body()) ==
        "data: tick 1 of 4\n\ndata: tick 2 of 4\n\ndata: tick 3 of 4\n\ndata: tick 4 of 4\n\n");
  REQUIRE(arrivals.size() == 4);
  Clock::time_point previous = asked;
  for (Clock::time_point arrival : arrivals) {
    CHECK(arrival - previous >= 150ms);
    previous = arrival;
  }

  CHECK(http_get(port, "/events?count=0&ms=10").status == 400);
  CHECK(http_get(port, "/events?count=3").status == 400);
  CHECK(http_get(port, "/events?count=3&ms=0").status == 400);
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
  CHECK(Clock::now() - started >= 300ms - timer_grain);
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
  CHECK(Clock::now() - started >= 3000ms - timer_grain);
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
    std::vector<pid_t> workers = server.workers();
    REQUIRE(workers.size() == 1);
    check_download(port, workers.front());
    check_events(port);
    server.signal(SIGTERM);
    CHECK(server.wait_exit() == 0);
  }
}
