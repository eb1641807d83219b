// The worker's HTTPS connections: a real forked worker and a TLS client driven by hand (OpenSSL
// over memory BIOs, so that a test decides what goes out in one flight): deep pipelines in one
// record, answers that come later while decryption is stalled, answers larger than the pending
// output limit, large bodies, close_notify right after requests, the handshake against
// header_timeout and how failures are counted, and the memory of an idle connection.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "metrics/aggregate.hpp"
#include "net/tls/client_context.hpp"
#include "net/tls/server_context.hpp"
#include "storage/file/file_collector.hpp"
#include "support/certificates.hpp"
#include "tests/unit/worker/harness.hpp"
#include "worker/server.hpp"

using namespace prefork;
using namespace prefork::testing;

namespace {

// Made once for the whole binary: each certificate costs a few openssl runs.
const Certificates& certificates() {
  static Certificates made;
  static const bool issued = [] {
    made.issue("server", "DNS:localhost,IP:127.0.0.1");
    return true;
  }();
  (void)issued;
  return made;
}

std::shared_ptr<const net::tls::ServerContext> server_context() {
  net::tls::ServerOptions options;
  options.cert_file = certificates().file("server.pem");
  options.key_file = certificates().file("server.key");
  Result<std::shared_ptr<const net::tls::ServerContext>> made =
      net::tls::ServerContext::make(options);
  INFO(made.message());
  REQUIRE(made.ok());
  return made.value();
}

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(std::uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) throw std::runtime_error("send failed");
    bytes.remove_prefix(std::size_t(sent));
  }
}

// A TLS client over a blocking socket whose records are made in memory: queue() and
// queue_close_notify() only encrypt, send_queued() sends everything encrypted so far in one
// write.
class TlsClient {
 public:
  explicit TlsClient(int port) : fd_(connect_to(port)) {
    net::tls::ClientOptions options;
    options.ca_file = certificates().ca();
    Result<std::shared_ptr<net::tls::ClientContext>> context =
        net::tls::ClientContext::make(options);
    if (!context.ok()) throw std::runtime_error(context.message());
    ssl_ = context.value()->new_session("localhost");  // the session keeps its context alive
    if (!ssl_) throw std::runtime_error("no client session");
    from_server_ = BIO_new(BIO_s_mem());
    to_server_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, from_server_, to_server_);
  }
  ~TlsClient() {
    SSL_free(ssl_);
    close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool handshake(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int result = SSL_do_handshake(ssl_);
      send_queued();
      if (result == 1) return true;
      if (SSL_get_error(ssl_, result) != SSL_ERROR_WANT_READ) return false;
      if (receive(deadline) != Got::data) return false;
    }
  }

  // The ClientHello alone, not sent.
  std::string client_hello() {
    SSL_do_handshake(ssl_);
    return take_queued();
  }

  // Encrypts plaintext (one record up to 16 KiB).
  void queue(std::string_view plaintext) {
    while (!plaintext.empty()) {
      std::size_t written = 0;
      if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1) {
        throw std::runtime_error("SSL_write_ex failed");
      }
      plaintext.remove_prefix(written);
    }
  }
  void queue_close_notify() { SSL_shutdown(ssl_); }
  void send_queued() {
    std::string bytes = take_queued();
    if (!bytes.empty()) send_all(fd_, bytes);
  }
  void send(std::string_view plaintext) {
    queue(plaintext);
    send_queued();
  }

  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto response = take_response(plain_)) return response;
      if (decrypt(deadline) != Got::data) return std::nullopt;
    }
  }

  // True when the server closes (close_notify, EOF or reset) within the timeout.
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      Got got = decrypt(deadline);
      if (got == Got::closed) return true;
      if (got == Got::timeout) return false;
    }
  }

  int fd() const { return fd_; }

 private:
  enum class Got { data, closed, timeout };

  std::string take_queued() {
    std::string bytes;
    char chunk[16384];
    int got;
    while ((got = BIO_read(to_server_, chunk, sizeof chunk)) > 0) bytes.append(chunk, got);
    return bytes;
  }

  // Ciphertext from the socket into the session.
  Got receive(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Got::timeout;
      pollfd ready = {fd_, POLLIN, 0};
      int events = poll(&ready, 1, int(left.count()));
      if (events < 0 && errno == EINTR) continue;
      if (events <= 0) return Got::timeout;
      char chunk[16384];
      ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return Got::closed;
      BIO_write(from_server_, chunk, int(got));
      return Got::data;
    }
  }

  // Some plaintext into plain_.
  Got decrypt(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      char chunk[16384];
      std::size_t got = 0;
      if (SSL_read_ex(ssl_, chunk, sizeof chunk, &got) == 1) {
        plain_.append(chunk, got);
        return Got::data;
      }
      int error = SSL_get_error(ssl_, 0);
      send_queued();  // a KeyUpdate answer, say
      if (error != SSL_ERROR_WANT_READ) return Got::closed;
      Got received = receive(deadline);
      if (received != Got::data) return received;
    }
  }

  int fd_;
  SSL* ssl_ = nullptr;
  BIO* from_server_ = nullptr;  // owned by ssl_
  BIO* to_server_ = nullptr;    // owned by ssl_
  std::string plain_;
};

constexpr std::size_t big_answer = 300 * 1000;

// /held: the workspaces the server's connections hold; /big: big_answer bytes; /echo: the
// body; /slow/N: its path after N ms; else its path.
class TlsApp final : public SyncApp {
 public:
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<TlsApp>(); }
  void on_worker_start(Worker& worker) override {
    server_ = dynamic_cast<worker::Server*>(&worker);
  }
  Response respond(const Request& request) override {
    std::string_view path = request.path();
    if (path == "/held") {
      if (!server_) return Response::text(500, "not a worker::Server");
      return Response::text(200, std::to_string(server_->workspaces_held()));
    }
    if (path == "/big") return Response::text(200, std::string(big_answer, 'b'));
    if (path == "/echo") return Response::text(200, std::string(request.body()));
    if (path.substr(0, 6) == "/slow/") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(path.data() + 6)));
    }
    return Response::text(200, std::string(path));
  }

 private:
  worker::Server* server_ = nullptr;
};

std::string get(std::string_view path, std::size_t padding = 0) {
  std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n";
  if (padding > 0) request += "X-Padding: " + std::string(padding, 'p') + "\r\n";
  return request + "\r\n";
}

// count pipelined GETs of /1, /2… in one string, each with a header of padding bytes.
std::string numbered_gets(int count, std::size_t padding = 0) {
  std::string requests;
  for (int i = 1; i <= count; ++i) requests += get("/" + std::to_string(i), padding);
  return requests;
}

void check_numbered_answers(TlsClient& client, int count) {
  for (int i = 1; i <= count; ++i) {
    auto response = client.read_response();
    INFO("answer ", i);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "/" + std::to_string(i));
  }
}

config::Config threads_config() {
  config::Config config = test_config();
  config.worker_class = "threads";
  config.threads = 2;
  return config;
}

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/prefork-wtls-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

// gunicorn_worker_tls_handshake_errors_total{reason}, 0 when absent.
double tls_errors(storage::file::FileCollector& collector, const std::string& reason) {
  for (const metrics::Family& family : collector.collect()) {
    for (const metrics::Sample& sample : family.samples) {
      if (sample.name != "gunicorn_worker_tls_handshake_errors_total") continue;
      for (const auto& label : sample.labels) {
        if (label.first == "reason" && label.second == reason) return sample.value;
      }
    }
  }
  return 0;
}

double all_tls_errors(storage::file::FileCollector& collector) {
  double sum = 0;
  for (const char* reason : {"timeout", "protocol", "certificate", "alert", "eof"}) {
    sum += tls_errors(collector, reason);
  }
  return sum;
}

}  // namespace

TEST_CASE("TLS: 20 pipelined requests in one record are answered in order") {
  WorkerProcess worker(test_config(), TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  client.send(numbered_gets(20));
  check_numbered_answers(client, 20);
  // The connection is still good for more.
  client.send(get("/after"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "/after");
}

TEST_CASE("TLS: a deep pipeline whose answers come later, from threads") {
  WorkerProcess worker(threads_config(), TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  SUBCASE("in one record") {
    client.send(numbered_gets(40));
    check_numbered_answers(client, 40);
  }
  SUBCASE("in records of 14 kB sent at once while a slow request is outstanding") {
    // The buffer cannot move or grow while the app holds the slow request: a read brings more
    // than it has room for, and what is left waits in the session, decryption stalled, until
    // answers go out.
    client.send(get("/slow/300"));
    std::this_thread::sleep_for(100ms);
    for (int record = 0; record < 5; ++record) client.queue(numbered_gets(20, 650));
    client.send_queued();
    auto slow = client.read_response();
    REQUIRE(slow);
    CHECK(slow->body == "/slow/300");
    for (int record = 0; record < 5; ++record) check_numbered_answers(client, 20);
  }
  client.send(get("/after"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "/after");
}

TEST_CASE("TLS: pipelined answers beyond the pending output limit are all sent") {
  // 8 × 300 kB: parsing pauses at 1 MiB of pending output and must carry on when it is out.
  WorkerProcess worker(test_config(), TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  std::string requests;
  for (int i = 0; i < 8; ++i) requests += get("/big");
  client.send(requests);
  for (int i = 0; i < 8; ++i) {
    auto response = client.read_response();
    INFO("answer ", i + 1);
    REQUIRE(response);
    CHECK(response->body.size() == big_answer);
  }
}

TEST_CASE("plain HTTP: pipelined answers beyond the pending output limit are all sent") {
  WorkerProcess worker(test_config(), TlsApp::make);
  int fd = connect_to(worker.port());
  std::string requests;
  for (int i = 0; i < 8; ++i) requests += get("/big");
  send_all(fd, requests);
  SUBCASE("the connection stays open") {}
  SUBCASE("the client half-closes after its requests") {
    shutdown(fd, SHUT_WR);
  }
  std::string pending;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int i = 0; i < 8; ++i) {
    INFO("answer ", i + 1);
    std::optional<HttpResponse> response;
    while (!(response = take_response(pending))) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd ready = {fd, POLLIN, 0};
      if (left.count() <= 0 || poll(&ready, 1, int(left.count())) <= 0) break;
      char chunk[65536];
      ssize_t got = recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0) break;
      pending.append(chunk, std::size_t(got));
    }
    REQUIRE(response);
    CHECK(response->body.size() == big_answer);
  }
  close(fd);
}

// 20 requests and a close_notify in one flight: all 20 answered, then the connection closes.
void check_close_notify_after_pipeline(const config::Config& config) {
  WorkerProcess worker(config, TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  client.queue(numbered_gets(20));
  client.queue_close_notify();
  client.send_queued();
  check_numbered_answers(client, 20);
  CHECK(client.closed_within(2s));
}

TEST_CASE("TLS: requests followed by close_notify in the same flight are all answered") {
  check_close_notify_after_pipeline(test_config());
}

TEST_CASE("TLS: close_notify read while the pipeline is full: the requests before it answered") {
  check_close_notify_after_pipeline(threads_config());
}

TEST_CASE("TLS: close_notify read while output is pending: the requests before it answered") {
  WorkerProcess worker(test_config(), TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  for (int i = 0; i < 8; ++i) client.queue(get("/big"));
  client.queue_close_notify();
  client.send_queued();
  for (int i = 0; i < 8; ++i) {
    auto response = client.read_response();
    INFO("answer ", i + 1);
    REQUIRE(response);
    CHECK(response->body.size() == big_answer);
  }
  CHECK(client.closed_within(2s));
}

namespace {

// Limits that make the buffer limit about 20 kB.
config::Config small_buffer_config() {
  config::Config config = test_config();
  config.limits.request_line = 1000;
  config.limits.request_fields = 10;
  config.limits.request_field_size = 200;
  config.limits.max_body_size = 1000;
  return config;
}

// count GETs of /big of about 1.2 kB each.
std::string padded_big_gets(int count) {
  std::string request = "GET /big HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 6; ++i)
    request += "X-Padding-" + std::to_string(i) + ": " + std::string(180, 'p') + "\r\n";
  request += "\r\n";
  std::string requests;
  for (int i = 0; i < count; ++i) requests += request;
  return requests;
}

}  // namespace

TEST_CASE("pipelined requests beyond the buffer limit, paused for their answers, are not refused") {
  // 40 requests of 1.2 kB (48 kB, more than the 20 kB buffer limit) whose answers (12 MB) pause
  // parsing again and again: the requests waiting in the buffer are no request too large.
  const std::string requests = padded_big_gets(40);
  SUBCASE("TLS") {
    WorkerProcess worker(small_buffer_config(), TlsApp::make, {}, server_context());
    TlsClient client(worker.port());
    REQUIRE(client.handshake());
    client.send(requests);
    for (int i = 0; i < 40; ++i) {
      auto response = client.read_response();
      INFO("answer ", i + 1);
      REQUIRE(response);
      CHECK(response->status == 200);
      CHECK(response->body.size() == big_answer);
    }
  }
  SUBCASE("plain HTTP") {
    WorkerProcess worker(small_buffer_config(), TlsApp::make);
    RawClient client(worker.port());
    REQUIRE(client.send_within(requests, 5s));
    for (int i = 0; i < 40; ++i) {
      auto response = client.read_response();
      INFO("answer ", i + 1);
      REQUIRE(response);
      CHECK(response->status == 200);
      CHECK(response->body.size() == big_answer);
    }
  }
}

TEST_CASE("TLS: a body of several buffers is echoed; one beyond max_body_size gets 413") {
  config::Config config = test_config();
  config.limits.max_body_size = 300 * 1000;
  WorkerProcess worker(config, TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  std::string body;
  for (int i = 0; body.size() < 200 * 1000; ++i) body += std::to_string(i) + ",";
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body);
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == body);

  std::string large(400 * 1000, 'x');
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(large.size()) +
              "\r\n\r\n");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 413);
  CHECK(client.closed_within(3s));
}

TEST_CASE("TLS: a head beyond the limits gets 431") {
  config::Config config = test_config();
  config.limits.request_fields = 10;
  config.limits.request_field_size = 200;
  config.limits.max_body_size = 10000;
  WorkerProcess worker(config, TlsApp::make, {}, server_context());
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  std::string head = "GET / HTTP/1.1\r\nHost: t\r\n";
  while (head.size() < 60 * 1000) head += "X-Filler: " + std::string(100, 'f') + "\r\n";
  client.send(head);
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 431);
}

TEST_CASE("TLS: a stalled handshake closes at header_timeout, counted; a silent one is not") {
  TempDir directory;
  config::Config config = test_config();
  config.limits.header_timeout = 0.3;
  WorkerProcess worker(config, TlsApp::make, {directory.path, -1, 1}, server_context());
  REQUIRE(worker.booted());
  storage::file::FileCollector collector(directory.path);

  // A port check: connects, sends nothing, is closed at header_timeout and not counted.
  RawClient silent(worker.port());
  auto started = std::chrono::steady_clock::now();
  CHECK(silent.closed_within(3s));
  CHECK(std::chrono::steady_clock::now() - started >= 250ms);
  // One that closes at once is no failure either.
  { RawClient gone(worker.port()); }

  // Half a ClientHello, then nothing.
  TlsClient stalled(worker.port());
  std::string hello = stalled.client_hello();
  REQUIRE(hello.size() > 20);
  send_all(stalled.fd(), std::string_view(hello).substr(0, hello.size() / 2));
  started = std::chrono::steady_clock::now();
  CHECK(stalled.closed_within(3s));
  auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited >= 200ms);
  CHECK(waited < 2s);
  CHECK(eventually([&] { return tls_errors(collector, "timeout") == 1; }));

  // A handshake, then no request: header_timeout covers the first request too; no failure.
  TlsClient idle(worker.port());
  REQUIRE(idle.handshake());
  CHECK(idle.closed_within(3s));

  // A request answered first, to be sure the worker caught up with everything above.
  TlsClient client(worker.port());
  REQUIRE(client.handshake());
  client.send(get("/x"));
  REQUIRE(client.read_response());
  std::this_thread::sleep_for(100ms);
  CHECK(tls_errors(collector, "timeout") == 1);
  CHECK(all_tls_errors(collector) == 1);
}

TEST_CASE("TLS: an idle keep-alive connection holds no workspace") {
  WorkerProcess worker(test_config(), TlsApp::make, {}, server_context());
  std::vector<std::unique_ptr<TlsClient>> idle;
  for (int i = 0; i < 5; ++i) {
    auto client = std::make_unique<TlsClient>(worker.port());
    REQUIRE(client->handshake());
    client->send(get("/x"));
    REQUIRE(client->read_response());
    idle.push_back(std::move(client));
  }
  // One that handshook and sent nothing yet holds none either.
  auto handshaken = std::make_unique<TlsClient>(worker.port());
  REQUIRE(handshaken->handshake());
  idle.push_back(std::move(handshaken));
  // One whose pipeline had answers beyond the output limit.
  auto big = std::make_unique<TlsClient>(worker.port());
  REQUIRE(big->handshake());
  for (int i = 0; i < 5; ++i) big->queue(get("/big"));
  big->send_queued();
  for (int i = 0; i < 5; ++i) REQUIRE(big->read_response());
  idle.push_back(std::move(big));

  TlsClient asking(worker.port());
  REQUIRE(asking.handshake());
  // The asking connection holds one while it is answered.
  CHECK(eventually([&] {
    asking.send(get("/held"));
    auto held = asking.read_response();
    return held && held->body == "1";
  }));
  // And they are still served.
  for (auto& client : idle) {
    client->send(get("/again"));
    auto response = client->read_response();
    REQUIRE(response);
    CHECK(response->body == "/again");
  }
}
