// Behind a proxy, with the real binary over real sockets: X-Forwarded-For/Proto from trusted
// peers only, PROXY protocol v1 and v2 headers built by hand, and the access log's %(h)s.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <sstream>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// Sends the pieces (a pause between them, so that each arrives in its own read) on a new
// connection to 127.0.0.1:port, or to a unix socket, and returns all that comes back until the
// server closes.
std::string send_pieces(int port, const std::string& unix_path,
                        std::initializer_list<std::string> pieces) {
  int fd;
  int connected;
  if (unix_path.empty()) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    unix_path.copy(address.sun_path, sizeof address.sun_path - 1);
    connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string received;
  if (connected == 0) {
    bool first = true;
    for (const std::string& piece : pieces) {
      if (!first) std::this_thread::sleep_for(30ms);
      first = false;
      if (send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) != ssize_t(piece.size())) break;
    }
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) received.append(buffer, n);
  }
  ::close(fd);
  return received;
}

std::string send_tcp(int port, std::initializer_list<std::string> pieces) {
  return send_pieces(port, "", pieces);
}

// A GET of /peer (the hello app answers "PEER SCHEME") with extra header lines.
std::string peer_request(const std::string& headers = "") {
  return "GET /peer HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n" + headers + "\r\n";
}

// The body of a 200 answer; "" for anything else (no answer, another status).
std::string body_of(const std::string& response) {
  if (response.compare(0, 13, "HTTP/1.1 200 ") != 0) return "";
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string bytes(std::initializer_list<int> values) {
  std::string text;
  for (int value : values) text += char(value);
  return text;
}

// A v2 header: PROXY (0x21) or LOCAL (0x20), TCP over IPv4 (0x11), then the block.
std::string v2_header(int command, const std::string& block) {
  std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
  header += char(command);
  header += char(block.empty() ? 0x00 : 0x11);
  header += char(block.size() >> 8);
  header += char(block.size() & 0xff);
  return header + block;
}

// 192.0.2.1:56324 → 198.51.100.1:443, then a PP2_TYPE_AUTHORITY TLV.
std::string v2_proxy() {
  return v2_header(0x21, bytes({192, 0, 2, 1, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb}) +
                             bytes({0x02, 0x00, 0x0b}) + "example.com");
}

bool logged_line_starting(const std::string& path, const std::string& start) {
  return eventually([&] {
    std::istringstream lines(read_whole(path));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(start, 0) == 0) return true;
    }
    return false;
  });
}

}  // namespace

TEST_CASE("X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1, trusted by default") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1"});
  int port = server.port();
  REQUIRE(port > 0);

  std::string plain = body_of(send_tcp(port, {peer_request()}));
  CHECK(plain.rfind("127.0.0.1:", 0) == 0);
  CHECK(plain.size() > 15);
  CHECK(plain.substr(plain.size() - 5) == " http");

  CHECK(body_of(send_tcp(port, {peer_request("X-Forwarded-For: 10.9.8.7, 203.0.113.7\r\n"
                                             "X-Forwarded-Proto: https\r\n")})) ==
        "203.0.113.7:0 https");
  CHECK(body_of(send_tcp(port, {peer_request("X-Forwarded-For: 2001:db8::5\r\n"
                                             "X-Forwarded-Ssl: on\r\n")})) ==
        "[2001:db8::5]:0 https");
  CHECK(body_of(send_tcp(port, {peer_request("X-Forwarded-Proto: http\r\n")})).find(" http") !=
        std::string::npos);
  // Secure headers that disagree: 400, as gunicorn.
  std::string conflict =
      send_tcp(port, {peer_request("X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n")});
  CHECK(conflict.rfind("HTTP/1.1 400 ", 0) == 0);
  // The worker lives on.
  CHECK(body_of(send_tcp(port, {peer_request("X-Forwarded-For: 198.51.100.9\r\n")})) ==
        "198.51.100.9:0 http");
}

TEST_CASE("forwarded headers from a peer outside forwarded_allow_ips are ignored") {
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--forwarded-allow-ips", "10.0.0.1"});
  int port = server.port();
  REQUIRE(port > 0);
  std::string answer = body_of(send_tcp(
      port, {peer_request("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n")}));
  CHECK(answer.rfind("127.0.0.1:", 0) == 0);
  CHECK(answer.substr(answer.size() - 5) == " http");
  // Not even their disagreement matters.
  CHECK(send_tcp(port, {peer_request("X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n")})
            .rfind("HTTP/1.1 200 ", 0) == 0);
}

TEST_CASE("a unix socket peer is trusted, as in gunicorn") {
  TempDir directory;
  std::string socket_path = directory.file("app.sock");
  Server server(hello_binary(),
                {"-b", "unix:" + socket_path, "-w", "1", "--forwarded-allow-ips", "10.0.0.1"});
  REQUIRE(server.wait_for_line("Listening at"));
  std::string answer;
  CHECK(eventually([&] {
    answer = body_of(send_pieces(0, socket_path,
                                 {peer_request("X-Forwarded-For: 203.0.113.7\r\n"
                                               "X-Forwarded-Proto: https\r\n")}));
    return !answer.empty();
  }));
  CHECK(answer == "203.0.113.7:0 https");
}

TEST_CASE("PROXY protocol v1 and v2 from an allowed peer set the client") {
  TempDir directory;
  std::string log = directory.file("access.log");
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--proxy-protocol", "--access-logfile", log});
  int port = server.port();
  REQUIRE(port > 0);

  CHECK(body_of(send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" +
                                peer_request()})) == "192.0.2.1:56324 http");
  CHECK(body_of(send_tcp(port, {"PROXY TCP6 2001:db8::7 2001:db8::1 1234 443\r\n" +
                                peer_request()})) == "[2001:db8::7]:1234 http");
  CHECK(body_of(send_tcp(port, {v2_proxy() + peer_request()})) == "192.0.2.1:56324 http");

  // In pieces: the header cut inside, the request after it on its own.
  CHECK(body_of(send_tcp(port, {"PROX", "Y TCP4 192.0.2.3 198.51.1", "00.1 4000 443\r", "\n",
                                peer_request()})) == "192.0.2.3:4000 http");
  std::string v2 = v2_proxy();
  CHECK(body_of(send_tcp(port, {v2.substr(0, 5), v2.substr(5, 12), v2.substr(17),
                                peer_request()})) == "192.0.2.1:56324 http");

  // LOCAL (a health check of the proxy itself) and UNKNOWN keep the socket's peer.
  CHECK(body_of(send_tcp(port, {v2_header(0x20, "") + peer_request()})).rfind("127.0.0.1:", 0) ==
        0);
  CHECK(body_of(send_tcp(port, {"PROXY UNKNOWN\r\n" + peer_request()})).rfind("127.0.0.1:", 0) ==
        0);

  // The proxied client is what forwarded_allow_ips is checked against: 192.0.2.1 is not in it,
  // so its own X-Forwarded-* headers are ignored; a proxied 127.0.0.1 is trusted.
  CHECK(body_of(send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" +
                                peer_request("X-Forwarded-For: 6.6.6.6\r\n"
                                             "X-Forwarded-Proto: https\r\n")})) ==
        "192.0.2.1:56324 http");
  CHECK(body_of(send_tcp(port, {"PROXY TCP4 127.0.0.1 127.0.0.1 5000 443\r\n" +
                                peer_request("X-Forwarded-For: 203.0.113.8\r\n"
                                             "X-Forwarded-Proto: https\r\n")})) ==
        "203.0.113.8:0 https");

  // Every request of a keep-alive connection has the proxied client.
  std::string keep_alive = send_tcp(port, {"PROXY TCP4 192.0.2.4 198.51.100.1 4444 443\r\n"
                                           "GET /peer HTTP/1.1\r\nHost: app.example\r\n\r\n",
                                           peer_request()});
  CHECK(keep_alive.find("192.0.2.4:4444 http") != std::string::npos);
  CHECK(keep_alive.find("192.0.2.4:4444 http") != keep_alive.rfind("192.0.2.4:4444 http"));

  // The access log's %(h)s is the proxied client.
  CHECK(logged_line_starting(log, "192.0.2.3 - - ["));
  CHECK(logged_line_starting(log, "2001:db8::7 - - ["));
}

TEST_CASE("a missing or malformed PROXY header from an allowed peer closes without an answer") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--proxy-protocol"});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(send_tcp(port, {peer_request()}).empty());
  CHECK(send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324\r\n" + peer_request()}).empty());
  CHECK(send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\n" + peer_request()}).empty());
  CHECK(send_tcp(port, {"PROXY TCP9 x\r\n", peer_request()}).empty());
  std::string broken = v2_proxy();
  broken[12] = 0x31;  // version 3
  CHECK(send_tcp(port, {broken + peer_request()}).empty());
  // Still serving.
  CHECK(body_of(send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" +
                                peer_request()})) == "192.0.2.1:56324 http");
}

TEST_CASE("a peer outside proxy_allow_ips speaks plain HTTP, and may not send a PROXY header") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--proxy-protocol",
                                 "--proxy-allow-from", "10.0.0.0/8"});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(body_of(send_tcp(port, {peer_request()})).rfind("127.0.0.1:", 0) == 0);
  CHECK(
      send_tcp(port, {"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" + peer_request()}).empty());
  CHECK(send_tcp(port, {"PRO", "XY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" + peer_request()})
            .empty());
  CHECK(send_tcp(port, {v2_proxy() + peer_request()}).empty());
}

TEST_CASE("the access log's %(h)s is the client a trusted X-Forwarded-For names") {
  TempDir directory;
  std::string log = directory.file("access.log");
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--access-logfile", log});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(body_of(send_tcp(port, {peer_request("X-Forwarded-For: 203.0.113.77\r\n")})) ==
        "203.0.113.77:0 http");
  CHECK(logged_line_starting(log, "203.0.113.77 - - ["));
}
