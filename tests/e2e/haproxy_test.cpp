// A real PROXY protocol sender: HAProxy in TCP mode with send-proxy (v1) and send-proxy-v2 in
// front of prefork. Skipped (exit 77) where haproxy is not installed (scripts/install-deps).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;

namespace {

std::string haproxy_path() {
  std::string output;
  if (prefork::testing::run_command("command -v haproxy || ls /usr/sbin/haproxy", output) != 0)
    return "";
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output.substr(0, output.find('\n'));
}

// A port the kernel had free a moment ago.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// haproxy -db (foreground) with the given config; stopped and reaped on destruction.
class Haproxy {
 public:
  Haproxy(const std::string& binary, const std::string& config) {
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      execl(binary.c_str(), binary.c_str(), "-db", "-f", config.c_str(), nullptr);
      _exit(127);
    }
  }
  ~Haproxy() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
  }
  Haproxy(const Haproxy&) = delete;
  Haproxy& operator=(const Haproxy&) = delete;

 private:
  pid_t pid_ = -1;
};

// GET /peer through 127.0.0.1:port from the source address 127.0.0.2; returns the answer's
// body and the client's own port.
std::string get_peer_from_127_0_0_2(int port, int& client_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f000002);
  socklen_t size = sizeof source;
  std::string received;
  if (bind(fd, reinterpret_cast<sockaddr*>(&source), size) == 0) {
    getsockname(fd, reinterpret_cast<sockaddr*>(&source), &size);
    client_port = ntohs(source.sin_port);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request = "GET /peer HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n";
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) received.append(buffer, n);
    }
  }
  ::close(fd);
  std::size_t end = received.find("\r\n\r\n");
  if (received.rfind("HTTP/1.1 200 ", 0) != 0 || end == std::string::npos) return "";
  return received.substr(end + 4);
}

}  // namespace

TEST_CASE("behind HAProxy's send-proxy and send-proxy-v2 the app sees the client") {
  std::string binary = haproxy_path();
  if (binary.empty()) prefork::testing::skip_test("haproxy is not installed");

  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--proxy-protocol"});
  int port = server.port();
  REQUIRE(port > 0);

  TempDir directory;
  int v1_port = free_port(), v2_port = free_port();
  std::string backend = "127.0.0.1:" + std::to_string(port);
  std::string config = directory.write(
      "haproxy.cfg",
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10s\n"
      "  timeout server 10s\n"
      "listen v1\n  bind 127.0.0.1:" +
          std::to_string(v1_port) + "\n  server app " + backend +
          " send-proxy\n"
          "listen v2\n  bind 127.0.0.1:" +
          std::to_string(v2_port) + "\n  server app " + backend + " send-proxy-v2\n");
  Haproxy haproxy(binary, config);
  REQUIRE(eventually([&] { return connect_error(v1_port) == 0 && connect_error(v2_port) == 0; }));

  for (int front : {v1_port, v2_port}) {
    CAPTURE(front);
    int client_port = 0;
    std::string body = get_peer_from_127_0_0_2(front, client_port);
    CHECK(body == "127.0.0.2:" + std::to_string(client_port) + " http");
  }
  // Straight to prefork from 127.0.0.1, an allowed proxy address, without a header: closed.
  CHECK(http_get(port, "/peer", 3s).status == 0);
}
