// Real sockets and a real forked worker process for the worker's tests.
#pragma once

#include <sys/types.h>
#include <prefork/app.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/heartbeat.hpp"
#include "net/tls/server_context.hpp"
#include "support/eventually.hpp"

namespace prefork::testing {

using namespace std::chrono_literals;

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

// The complete response at the front of pending, taken off it; its body is read by
// Content-Length (none for HEAD, 1xx, 204, 304). nullopt while it is incomplete or its status
// line is malformed.
std::optional<HttpResponse> take_response(std::string& pending, bool head_request = false);

// A blocking TCP client speaking raw bytes, with deadlines on every read.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(std::string_view bytes);
  // Sends all of bytes unless the deadline passes or the connection fails first.
  bool send_within(std::string_view bytes, std::chrono::milliseconds timeout);
  // One response; the body is read by Content-Length (none for HEAD, 1xx, 204, 304).
  // nullopt when the connection closes or the deadline passes first.
  std::optional<HttpResponse> read_response(bool head_request = false,
                                            std::chrono::milliseconds timeout = 5s);
  // True when the server closes (EOF or reset) within the timeout; any bytes are discarded.
  bool closed_within(std::chrono::milliseconds timeout);
  // True when nothing at all arrives for `quiet`.
  bool silent_for(std::chrono::milliseconds quiet);

 private:
  // Appends received bytes to pending_; false on close or deadline.
  bool receive(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string pending_;
};

// worker::run in a forked child on a fresh 127.0.0.1:0 listener; killed (SIGKILL) at the end.
// Where a test worker's metric values go, as the master would say (worker::Boot's fields).
struct MetricsPlace {
  std::string directory;
  int slot_fd = -1;
  int position = 1;  // the worker_id label
};

class WorkerProcess {
 public:
  // tls: the listener speaks TLS with this context.
  WorkerProcess(const config::Config& config, AppFactory factory, const MetricsPlace& metrics = {},
                std::shared_ptr<const net::tls::ServerContext> tls = nullptr);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const Heartbeat& heartbeat() const { return *heartbeat_.get(); }
  bool booted() const { return heartbeat_.get()->booted.load(); }
  // Waits until the worker has dispatched at least `count` requests.
  bool wait_requests(std::uint64_t count, std::chrono::milliseconds timeout = 5s) const;
  // The exit code once the process ended, or nullopt at the deadline (or if it was signalled).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, then wait_exit.
  std::optional<int> stop_gracefully(std::chrono::milliseconds timeout = 10s);

 private:
  SharedHeartbeat heartbeat_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::optional<int> exit_code_;
};

using prefork::testing::eventually;

// A config with small timeouts suited to tests.
config::Config test_config();

}  // namespace prefork::testing
