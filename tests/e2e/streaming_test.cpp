// Streamed answers (Responder::stream) through the real binary and tests/e2e/modules/stream_app:
// framing (chunked, Content-Length, HTTP/1.0 until close, HEAD), back-pressure against a slow
// reader (the worker's RSS), server-sent events, broken streams, clients that leave or stop
// reading, TLS, and what the access log and metrics observe.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "metrics_support.hpp"
#include "support/certificates.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::Certificates;
using prefork::testing::eventually;

namespace {

constexpr std::size_t mib = 1024 * 1024;

std::string stream_app() {
  return built_path("STREAM_MODULE") + ":stream";
}

// prefork serving the stream app with one worker.
struct StreamServer {
  TempDir dir;
  Server server;
  int port = 0;
  // toml: top-level settings of the config file.
  explicit StreamServer(std::vector<std::string> more = {}, const std::string& toml = "")
      : server(prefork_binary(), arguments(dir, std::move(more), toml)) {
    port = server.serving_port(1);
  }
  static std::vector<std::string> arguments(const TempDir& dir, std::vector<std::string> more,
                                            const std::string& toml) {
    std::vector<std::string> args = {
        "-c",    dir.write("prefork.toml", toml + "\n" + file_config()),
        "--app", stream_app(),
        "-w",    "1",
        "-b",    "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  pid_t worker() const {
    std::vector<pid_t> workers = server.workers();
    return workers.size() == 1 ? workers.front() : -1;
  }
};

// The letters the app streams: byte i of a body is 'a' + i % 26.
bool letters_from(std::size_t offset, std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != char('a' + (offset + i) % 26)) return false;
  }
  return true;
}

// A blocking client socket with a deadline on every read; optionally a small receive buffer,
// so that a reader that pauses holds the server back at once.
class Connection {
 public:
  explicit Connection(int port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(std::size_t(sent));
    }
    return true;
  }
  // Reads more into pending; false on EOF, reset or the deadline. reset_seen tells which.
  bool receive(std::chrono::milliseconds timeout = 10s) {
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, int(timeout.count())) <= 0) return false;
    char buffer[65536];
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got < 0 && errno == ECONNRESET) reset_seen = true;
    if (got <= 0) return false;
    pending.append(buffer, std::size_t(got));
    return true;
  }
  // The head, up to its blank line, taken off pending.
  std::optional<std::string> head() {
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
      if (!receive()) return std::nullopt;
    }
    std::string text = pending.substr(0, end + 4);
    pending.erase(0, end + 4);
    return text;
  }
  // Exactly size bytes, taken off pending.
  std::optional<std::string> exactly(std::size_t size) {
    while (pending.size() < size) {
      if (!receive()) return std::nullopt;
    }
    std::string bytes = pending.substr(0, size);
    pending.erase(0, size);
    return bytes;
  }
  // Everything until the server closes (nullopt at the deadline).
  std::optional<std::string> until_close(std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (receive(10s)) {
      if (Clock::now() > deadline) return std::nullopt;
    }
    std::string bytes;
    bytes.swap(pending);
    return bytes;
  }

  // A chunked body, decoded as it arrives, each piece handed to take (which may pause). False
  // when the framing is broken or the body ends before its last chunk.
  template <class Take>
  bool chunked_body(Take take) {
    for (;;) {
      std::size_t line_end;
      while ((line_end = pending.find("\r\n")) == std::string::npos) {
        if (!receive()) return false;
      }
      std::size_t size = 0;
      auto parsed = std::from_chars(pending.data(), pending.data() + line_end, size, 16);
      if (parsed.ptr != pending.data() + line_end) return false;
      pending.erase(0, line_end + 2);
      if (size == 0) return bool(exactly(2));
      while (size > 0) {
        if (pending.empty() && !receive()) return false;
        std::size_t piece = std::min(size, pending.size());
        take(std::string_view(pending).substr(0, piece));
        pending.erase(0, piece);
        size -= piece;
      }
      std::optional<std::string> crlf = exactly(2);
      if (!crlf || *crlf != "\r\n") return false;
    }
  }
  // The whole chunked body as one string (small bodies).
  std::optional<std::string> chunked_body() {
    std::string body;
    if (!chunked_body([&](std::string_view piece) { body.append(piece); })) return std::nullopt;
    return body;
  }

  std::string pending;
  bool reset_seen = false;

 private:
  int fd_ = -1;
};

bool has_header(const std::string& head, const std::string& line) {
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

std::string get(std::string_view target, std::string_view version = "HTTP/1.1",
                std::string_view method = "GET") {
  return std::string(method) + " " + std::string(target) + " " + std::string(version) +
         "\r\nHost: t\r\n\r\n";
}

// What /stats says: the streams that found their client gone.
int closed_streams(int port) {
  Reply reply = http_get(port, "/stats");
  return reply.body.rfind("closed=", 0) == 0 ? std::stoi(reply.body.substr(7)) : -1;
}

}  // namespace

TEST_CASE("100 MiB streamed to a slow reader: every byte arrives, the worker's RSS stays flat") {
  StreamServer app;
  REQUIRE(app.port > 0);
  pid_t worker = app.worker();
  REQUIRE(worker > 0);
  REQUIRE(http_get(app.port, "/").body == "ok");
  long before = rss_kib(worker);
  REQUIRE(before > 0);

  const std::size_t size = 100 * mib;
  Connection client(app.port, 64 * 1024);
  REQUIRE(client.send(get("/bytes?n=" + std::to_string(size))));
  std::optional<std::string> head = client.head();
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(has_header(*head, "Transfer-Encoding: chunked"));
  CHECK(head->find("Content-Length") == std::string::npos);

  std::size_t received = 0, next_pause = 0;
  bool in_order = true;
  long peak = before;
  bool whole = client.chunked_body([&](std::string_view piece) {
    in_order = in_order && letters_from(received, piece);
    received += piece.size();
    // A slow reader: a pause every 4 MiB, long enough for the worker to fill whatever it would
    // buffer; the worker's RSS is read then.
    if (received >= next_pause) {
      next_pause += 4 * mib;
      std::this_thread::sleep_for(30ms);
      peak = std::max(peak, rss_kib(worker));
    }
  });
  CHECK(whole);
  CHECK(in_order);
  CHECK(received == size);
  MESSAGE("worker RSS before the stream " << before << " KiB, peak during it " << peak << " KiB");
  // Without back-pressure the worker would hold most of the 100 MiB.
  CHECK(peak - before < 16 * 1024);
  // Keep-alive goes on after a complete stream.
  REQUIRE(client.send(get("/")));
  REQUIRE(client.head());
  CHECK(client.exactly(2) == "ok");
  CHECK(app.worker() == worker);
}

TEST_CASE("Content-Length when the length is known; the connection is kept alive") {
  StreamServer app;
  REQUIRE(app.port > 0);
  Connection client(app.port);
  for (int round = 0; round < 2; ++round) {
    REQUIRE(client.send(get("/bytes?n=1000000&chunk=7000&length")));
    std::optional<std::string> head = client.head();
    REQUIRE(head);
    CHECK(has_header(*head, "Content-Length: 1000000"));
    CHECK(head->find("Transfer-Encoding") == std::string::npos);
    std::optional<std::string> body = client.exactly(1000000);
    REQUIRE(body);
    CHECK(letters_from(0, *body));
  }
}

TEST_CASE("server-sent events arrive as they are written, one chunk each") {
  StreamServer app;
  REQUIRE(app.port > 0);
  Connection client(app.port);
  REQUIRE(client.send(get("/events?n=4&ms=300")));
  std::optional<std::string> head = client.head();
  REQUIRE(head);
  CHECK(has_header(*head, "Content-Type: text/event-stream"));
  CHECK(has_header(*head, "Cache-Control: no-cache"));
  std::vector<Clock::time_point> arrivals;
  std::string events;
  CHECK(client.chunked_body([&](std::string_view piece) {
    events.append(piece);
    arrivals.push_back(Clock::now());
  }));
  CHECK(events ==
        "id: 0\ndata: event 0\n\nid: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n"
        "id: 3\ndata: event 3\n\n");
  REQUIRE(arrivals.size() == 4);
  // Each event came on its own, not with the end of the stream: 300 ms apart.
  CHECK(arrivals.back() - arrivals.front() >= 600ms);
}

TEST_CASE("HEAD gets the head alone, HTTP/1.0 a body delimited by the close") {
  StreamServer app;
  REQUIRE(app.port > 0);
  {
    Connection client(app.port);
    REQUIRE(client.send(get("/bytes?n=5000", "HTTP/1.1", "HEAD")));
    std::optional<std::string> head = client.head();
    REQUIRE(head);
    CHECK(has_header(*head, "Transfer-Encoding: chunked"));
    REQUIRE(client.send(get("/")));
    REQUIRE(client.head());
    // No body came before the next answer's.
    CHECK(client.exactly(2) == "ok");
  }
  {
    Connection client(app.port);
    REQUIRE(client.send(get("/bytes?n=300000", "HTTP/1.0")));
    std::optional<std::string> head = client.head();
    REQUIRE(head);
    CHECK(head->find("Transfer-Encoding") == std::string::npos);
    CHECK(head->find("Content-Length") == std::string::npos);
    CHECK(has_header(*head, "Connection: close"));
    std::optional<std::string> body = client.until_close();
    REQUIRE(body);
    CHECK(body->size() == 300000);
    CHECK(letters_from(0, *body));
    CHECK_FALSE(client.reset_seen);
  }
  {
    // A known length keeps an HTTP/1.0 client's keep-alive.
    Connection client(app.port);
    REQUIRE(
        client.send("GET /bytes?n=1000&length HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / "
                    "HTTP/1.0\r\n\r\n"));
    std::optional<std::string> head = client.head();
    REQUIRE(head);
    CHECK(has_header(*head, "Content-Length: 1000"));
    CHECK(has_header(*head, "Connection: keep-alive"));
    CHECK(client.exactly(1000));
    REQUIRE(client.head());
    CHECK(client.until_close() == "ok");
  }
}

TEST_CASE("pipelined requests behind a stream are answered after it, in order") {
  StreamServer app;
  REQUIRE(app.port > 0);
  Connection client(app.port);
  REQUIRE(client.send(get("/bytes?n=2000000") + get("/") + get("/bytes?n=30&length") + get("/")));
  REQUIRE(client.head());
  std::optional<std::string> first = client.chunked_body();
  REQUIRE(first);
  CHECK(first->size() == 2000000);
  CHECK(letters_from(0, *first));
  REQUIRE(client.head());
  CHECK(client.exactly(2) == "ok");
  REQUIRE(client.head());
  CHECK(client.exactly(30) == "abcdefghijklmnopqrstuvwxyzabcd");
  REQUIRE(client.head());
  CHECK(client.exactly(2) == "ok");
}

TEST_CASE("a broken stream resets its connection; the worker serves on") {
  StreamServer app;
  REQUIRE(app.port > 0);
  pid_t worker = app.worker();
  for (const char* target : {"/short?n=1000", "/over", "/abandon"}) {
    CAPTURE(target);
    Connection client(app.port);
    REQUIRE(client.send(get(target)));
    // The reset may come before the head did, which the kernel then drops; never a whole body.
    client.until_close();
    CHECK(client.reset_seen);
    CHECK(http_get(app.port, "/").body == "ok");
  }
  CHECK(app.server.log().find("ended 1 bytes short of its Content-Length") != std::string::npos);
  CHECK(app.server.log().find("more bytes than its Content-Length") != std::string::npos);
  CHECK(app.worker() == worker);
}

TEST_CASE("a client that leaves mid-stream: the stream's writes fail, the worker serves on") {
  StreamServer app;
  REQUIRE(app.port > 0);
  pid_t worker = app.worker();
  {
    Connection client(app.port);
    REQUIRE(client.send(get("/bytes?n=" + std::to_string(1024 * mib))));
    REQUIRE(client.head());
    REQUIRE(client.exactly(mib));
  }
  CHECK(eventually([&] { return closed_streams(app.port) == 1; }, 10s));
  {
    // An idle event stream notices at its next write.
    Connection client(app.port);
    REQUIRE(client.send(get("/events?n=1000&ms=100")));
    REQUIRE(client.head());
  }
  CHECK(eventually([&] { return closed_streams(app.port) == 2; }, 10s));
  CHECK(http_get(app.port, "/").body == "ok");
  CHECK(app.worker() == worker);
}

TEST_CASE("a client that stops reading a stream is cut off after body_timeout, with a reset") {
  StreamServer app({}, "body_timeout = 1");
  REQUIRE(app.port > 0);
  int cut = 0;
  // HTTP/1.0: the body ends at the close, so only the reset tells the client it was cut short.
  for (const char* version : {"HTTP/1.1", "HTTP/1.0"}) {
    CAPTURE(version);
    Connection client(app.port, 64 * 1024);
    REQUIRE(client.send(get("/bytes?n=" + std::to_string(1024 * mib), version)));
    REQUIRE(client.head());
    // The client reads nothing more; the worker gives up on it and its stream sees the close.
    ++cut;
    CHECK(eventually([&] { return closed_streams(app.port) == cut; }, 15s));
    client.until_close();
    CHECK(client.reset_seen);
    CHECK(http_get(app.port, "/").body == "ok");
  }
}

TEST_CASE("the access log and the metrics see a stream when it ends, with its bytes") {
  TempDir logs;
  std::string access = logs.file("access.log");
  StreamServer app({"--access-logfile", access, "--access-logformat", "%(r)s %(s)s %(B)s"});
  REQUIRE(app.port > 0);
  Connection client(app.port);
  REQUIRE(client.send(get("/bytes?n=123457")));
  REQUIRE(client.head());
  REQUIRE(client.chunked_body());
  CHECK(eventually(
      [&] {
        return read_whole(access).find("GET /bytes?n=123457 HTTP/1.1 200 123457") !=
               std::string::npos;
      },
      5s));
  std::string metrics = scrape(metrics_port(app.server));
  // The head and the body's bytes (not its chunk framing).
  double size_sum = sum_of(metrics, "gunicorn_worker_response_size_bytes_sum");
  CHECK(size_sum > 123457);
  CHECK(size_sum < 123457 + 1000);
}

TEST_CASE("TLS: a stream of 20 MiB and server-sent events through curl") {
  Certificates certificates;
  certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
  StreamServer app({"--certfile", certificates.file("server.pem"), "--keyfile",
                    certificates.file("server.key")});
  int port = app.server.port_of("Listening at: https://");
  REQUIRE(port > 0);
  auto curl = [&](const std::string& target, const std::string& options) {
    std::string output;
    int status = prefork::testing::run_command(
        "curl -sS --max-time 30 --cacert " + certificates.ca() + " " + options +
            " 'https://127.0.0.1:" + std::to_string(port) + target + "'",
        output);
    return status == 0 ? output : "curl failed: " + output;
  };
  std::string file = app.dir.file("body");
  CHECK(curl("/bytes?n=" + std::to_string(20 * mib), "-o " + file + " -w '%{http_code}'") == "200");
  std::string body = read_whole(file);
  CHECK(body.size() == 20 * mib);
  CHECK(letters_from(0, body));
  CHECK(curl("/bytes?n=100000&length", "-o " + file + " -w '%{size_download}'") == "100000");
  CHECK(letters_from(0, read_whole(file)));
  CHECK(curl("/events?n=3&ms=50", "") ==
        "id: 0\ndata: event 0\n\nid: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n");
}

TEST_CASE("end() called on another thread completes the stream on the loop") {
  StreamServer app;
  REQUIRE(app.port > 0);
  Connection client(app.port);
  for (int round = 0; round < 3; ++round) {
    REQUIRE(client.send(get("/thread-end")));
    REQUIRE(client.head());
    CHECK(client.chunked_body() == "abc");
  }
}

TEST_CASE("worker_class threads: a stream started on a handler thread is refused with a 500") {
  StreamServer app({}, "worker_class = \"threads\"");
  REQUIRE(app.port > 0);
  Reply reply = http_get(app.port, "/bytes?n=1000");
  CHECK(reply.status == 500);
  CHECK(app.server.wait_for_line("Responder::stream called off the worker's loop").has_value());
  CHECK(http_get(app.port, "/").body == "ok");
}
