#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>

#include "master/notify.hpp"

using prefork::master::Notifier;
using prefork::master::NotifyAddress;
using prefork::master::parse_notify_address;

namespace {

constexpr std::size_t path_offset = offsetof(sockaddr_un, sun_path);
constexpr std::size_t path_size = sizeof(sockaddr_un{}.sun_path);

// systemd's end: a datagram socket in a private directory.
class Receiver {
 public:
  Receiver() {
    char pattern[] = "/tmp/prefork-notify-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/notify.sock";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, path_.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~Receiver() {
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  // The next datagram within timeout_ms, or nullopt.
  std::optional<std::string> next(int timeout_ms = 1000) {
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, timeout_ms) <= 0) return std::nullopt;
    char buffer[1024];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, std::size_t(n));
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

Notifier notifier_for(const std::string& socket) {
  setenv("NOTIFY_SOCKET", socket.c_str(), 1);
  return Notifier::from_environment();
}

}  // namespace

TEST_CASE("a path NOTIFY_SOCKET is the path with its NUL") {
  prefork::Result<NotifyAddress> parsed = parse_notify_address("/run/systemd/notify");
  REQUIRE(parsed.ok());
  CHECK(parsed->address.sun_family == AF_UNIX);
  CHECK(std::string(parsed->address.sun_path) == "/run/systemd/notify");
  CHECK(parsed->length == path_offset + 19 + 1);
}

TEST_CASE("@name is an abstract address: a leading NUL and no trailing one") {
  prefork::Result<NotifyAddress> parsed = parse_notify_address("@prefork/notify");
  REQUIRE(parsed.ok());
  CHECK(parsed->address.sun_path[0] == '\0');
  CHECK(std::string(parsed->address.sun_path + 1, 14) == "prefork/notify");
  CHECK(parsed->length == path_offset + 1 + 14);
}

TEST_CASE("addresses of the size limit fit; one byte more is an error") {
  CHECK(parse_notify_address("/" + std::string(path_size - 2, 'p')).ok());
  CHECK(parse_notify_address("/" + std::string(path_size - 1, 'p')).message() ==
        "the path is too long");
  prefork::Result<NotifyAddress> longest =
      parse_notify_address("@" + std::string(path_size - 1, 'a'));
  REQUIRE(longest.ok());
  CHECK(longest->length == path_offset + path_size);
  CHECK(parse_notify_address("@" + std::string(path_size, 'a')).message() ==
        "the name is too long");
}

TEST_CASE("vsock, relative and empty addresses are refused with a reason") {
  CHECK(parse_notify_address("vsock:2:1234").message() == "vsock addresses are not supported");
  CHECK(parse_notify_address("run/notify").message().find("absolute path") != std::string::npos);
  CHECK_FALSE(parse_notify_address("").ok());
}

TEST_CASE("from_environment takes the variables out of the environment") {
  setenv("NOTIFY_SOCKET", "@prefork-unit", 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  Notifier notifier = Notifier::from_environment();
  CHECK(notifier.socket() == "@prefork-unit");
  CHECK(notifier.watchdog_usec() == 200000);
  CHECK(notifier.watchdog_interval_ms() == 100);
  CHECK(getenv("NOTIFY_SOCKET") == nullptr);
  CHECK(getenv("WATCHDOG_USEC") == nullptr);
  CHECK(getenv("WATCHDOG_PID") == nullptr);
}

TEST_CASE("the watchdog is another process's when WATCHDOG_PID names it") {
  setenv("NOTIFY_SOCKET", "@prefork-unit", 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  setenv("WATCHDOG_PID", "1", 1);
  Notifier notifier = Notifier::from_environment();
  CHECK(notifier.watchdog_usec() == 0);
  CHECK(notifier.watchdog_interval_ms() == 0);
  CHECK(getenv("WATCHDOG_PID") == nullptr);
}

TEST_CASE("an unusable NOTIFY_SOCKET is dropped, and so is its watchdog") {
  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  Notifier notifier = Notifier::from_environment();
  CHECK(notifier.socket().empty());
  CHECK(notifier.watchdog_interval_ms() == 0);
  CHECK(getenv("NOTIFY_SOCKET") == nullptr);
}

TEST_CASE("each message is one datagram of KEY=VALUE lines") {
  Receiver systemd;
  Notifier notifier = notifier_for(systemd.path());
  CHECK(notifier.awaiting_ready());
  notifier.ready(1);
  CHECK(systemd.next() == "READY=1\nSTATUS=1 worker\n");
  CHECK_FALSE(notifier.awaiting_ready());
  notifier.reloading();
  std::optional<std::string> reloading = systemd.next();
  REQUIRE(reloading.has_value());
  CHECK(reloading->find("RELOADING=1\nMONOTONIC_USEC=") == 0);
  CHECK(notifier.awaiting_ready());
  notifier.reload_failed("prefork.toml:2: no_such_setting:\nunknown");
  CHECK(systemd.next() ==
        "READY=1\nSTATUS=reload failed: prefork.toml:2: no_such_setting: unknown\n");
  notifier.watchdog();
  CHECK(systemd.next() == "WATCHDOG=1\n");
  notifier.stopping();
  CHECK(systemd.next() == "STOPPING=1\n");
}

TEST_CASE("the worker count goes out when it changes, at most once a second") {
  Receiver systemd;
  Notifier notifier = notifier_for(systemd.path());
  notifier.workers_changed(2);  // before READY=1: nothing
  auto sent_ready = std::chrono::steady_clock::now();
  notifier.ready(2);
  CHECK(systemd.next() == "READY=1\nSTATUS=2 workers\n");
  notifier.workers_changed(2);
  notifier.workers_changed(3);
  CHECK(systemd.next(100) == std::nullopt);
  std::optional<std::string> status;
  while (!status && std::chrono::steady_clock::now() - sent_ready < std::chrono::seconds(3)) {
    notifier.workers_changed(3);
    status = systemd.next(20);
  }
  CHECK(status == "STATUS=3 workers\n");
  // The notifier counts whole milliseconds (monotonic_ms), so its second may be up to 1 ms
  // shorter on this finer clock (a fresh-clone run measured 999.47 ms).
  CHECK(std::chrono::steady_clock::now() - sent_ready >= std::chrono::milliseconds(999));
}

TEST_CASE("after handing over to another master, only MAINPID= is said") {
  Receiver systemd;
  Notifier notifier = notifier_for(systemd.path());
  notifier.ready(2);
  CHECK(systemd.next() == "READY=1\nSTATUS=2 workers\n");
  notifier.hand_over(4242);
  CHECK(systemd.next() == "MAINPID=4242\n");
  notifier.hand_over(4343);
  notifier.watchdog();
  notifier.reloading();
  notifier.ready(3);
  notifier.stopping();
  CHECK(systemd.next(100) == std::nullopt);
}

TEST_CASE("taking the service back: MAINPID= this process with READY=1, or with STOPPING=1") {
  Receiver systemd;
  std::string main_pid = "MAINPID=" + std::to_string(getpid()) + "\n";
  SUBCASE("serving") {
    Notifier notifier = notifier_for(systemd.path());
    notifier.take_back(2);  // never handed over: nothing to take back
    notifier.ready(2);
    CHECK(systemd.next() == "READY=1\nSTATUS=2 workers\n");
    notifier.hand_over(4242);
    CHECK(systemd.next() == "MAINPID=4242\n");
    notifier.reloading();
    notifier.take_back(1);
    CHECK(systemd.next() == main_pid + "READY=1\nSTATUS=1 worker\n");
    // The reload systemd never heard of needs no READY=1 of its own.
    CHECK_FALSE(notifier.awaiting_ready());
    notifier.watchdog();
    CHECK(systemd.next() == "WATCHDOG=1\n");
    notifier.hand_over(4343);
    CHECK(systemd.next() == "MAINPID=4343\n");
  }
  SUBCASE("stopping") {
    Notifier notifier = notifier_for(systemd.path());
    notifier.ready(2);
    CHECK(systemd.next() == "READY=1\nSTATUS=2 workers\n");
    notifier.hand_over(4242);
    CHECK(systemd.next() == "MAINPID=4242\n");
    notifier.stopping();
    notifier.take_back(2);
    CHECK(systemd.next() == main_pid + "STOPPING=1\n");
    CHECK(systemd.next(100) == std::nullopt);
  }
}
