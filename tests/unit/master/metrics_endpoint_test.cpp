// The master's /metrics and /health endpoint over a real socket, on a real loop, with file
// storage in a temporary directory: routing, methods, gzip negotiation, bad requests.
#include "master/metrics_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <string>

#include "master/master_metrics.hpp"

using namespace prefork;

namespace {

// What a client reads back from one request on its own connection.
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
  bool has(const std::string& header_line) const {
    return head.find("\r\n" + header_line + "\r\n") != std::string::npos;
  }
};

Answer exchange(int port, const std::string& request) {
  Answer answer;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(std::uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    [[maybe_unused]] ssize_t sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    char chunk[4096];
    ssize_t got;
    while ((got = ::recv(fd, chunk, sizeof chunk, 0)) > 0) reply.append(chunk, std::size_t(got));
    std::size_t end = reply.find("\r\n\r\n");
    if (end != std::string::npos && reply.size() > 12) {
      answer.status = std::atoi(reply.c_str() + 9);
      answer.head = reply.substr(0, end + 2);
      answer.body = reply.substr(end + 4);
    }
  }
  ::close(fd);
  return answer;
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  inflateInit2(&stream, 16 + MAX_WBITS);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = uInt(data.size());
  std::string out;
  char chunk[16384];
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  inflateEnd(&stream);
  return status == Z_STREAM_END ? out : std::string();
}

// A master's loop with file metrics and the endpoint on a free port. ask() runs the loop
// until the client thread has its answer.
class Endpoint {
 public:
  Endpoint() {
    char pattern[] = "/tmp/prefork-endpoint-XXXXXX";
    directory_ = mkdtemp(pattern);
    config_.metrics.bind_address = "127.0.0.1";
    config_.metrics.port = 0;
    config_.metrics.multiproc_dir = directory_;
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &wakeup_, [](uv_async_t*) {});
    metrics_ = master::MasterMetrics::start(config_, &loop_);
    endpoint_.emplace(&loop_, metrics_->config(), metrics_->gate());
    REQUIRE(endpoint_->listen().ok());
  }
  ~Endpoint() {
    endpoint_.reset();
    metrics_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    std::system(("rm -rf '" + directory_ + "'").c_str());
  }

  Answer ask(const std::string& request) {
    std::atomic<bool> done{false};
    auto client = std::async(std::launch::async, [&] {
      Answer answer = exchange(endpoint_->port(), request);
      done = true;
      uv_async_send(&wakeup_);
      return answer;
    });
    while (!done) uv_run(&loop_, UV_RUN_ONCE);
    return client.get();
  }

 private:
  std::string directory_;
  config::Config config_;
  uv_loop_t loop_;
  uv_async_t wakeup_;
  std::unique_ptr<master::MasterMetrics> metrics_;
  std::optional<master::MetricsEndpoint> endpoint_;
};

}  // namespace

TEST_CASE("GET /metrics answers the text format, and ignores a query string") {
  Endpoint endpoint;
  for (const char* target : {"/metrics", "/metrics?name=x"}) {
    Answer answer = endpoint.ask(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    CAPTURE(target);
    CHECK(answer.status == 200);
    CHECK(answer.has("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    CHECK(answer.has("Connection: close"));
    CHECK(answer.body.find("# TYPE gunicorn_master_workers gauge") != std::string::npos);
  }
}

TEST_CASE("gzip only when the client accepts it") {
  Endpoint endpoint;
  std::string plain = endpoint.ask("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").body;
  Answer zipped =
      endpoint.ask("GET /metrics HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br, GZIP\r\n\r\n");
  CHECK(zipped.status == 200);
  CHECK(zipped.has("Content-Encoding: gzip"));
  CHECK(gunzip(zipped.body) == plain);
  for (const char* refused : {"gzip;q=0", "identity", "br, deflate"}) {
    CAPTURE(refused);
    Answer answer = endpoint.ask(std::string("GET /metrics HTTP/1.1\r\nHost: a\r\n") +
                                 "Accept-Encoding: " + refused + "\r\n\r\n");
    CHECK(answer.status == 200);
    CHECK_FALSE(answer.has("Content-Encoding: gzip"));
    CHECK(answer.body == plain);
  }
}

TEST_CASE("HEAD /metrics has the head and no body") {
  Endpoint endpoint;
  Answer answer = endpoint.ask("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(answer.status == 200);
  CHECK(answer.body.empty());
}

TEST_CASE("GET /health reports the file storage") {
  Endpoint endpoint;
  Answer answer = endpoint.ask("GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(answer.status == 200);
  CHECK(answer.body == "{\"status\": \"ok\", \"storage\": \"file\", \"redis_connected\": false}\n");
}

TEST_CASE("other methods get 405 with Allow, other paths 404") {
  Endpoint endpoint;
  Answer post = endpoint.ask("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.status == 405);
  CHECK(post.has("Allow: GET, HEAD"));
  CHECK(endpoint.ask("GET /metric HTTP/1.1\r\nHost: a\r\n\r\n").status == 404);
  CHECK(endpoint.ask("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status == 404);
}

TEST_CASE("a malformed or oversized request is refused and the endpoint serves on") {
  Endpoint endpoint;
  CHECK(endpoint.ask("GARBAGE\r\n\r\n").status == 400);
  std::string huge =
      "GET /metrics HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'x') + "\r\n\r\n";
  int status = endpoint.ask(huge).status;
  CHECK((status == 431 || status == 400));
  CHECK(endpoint.ask("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").status == 200);
}
