// End-to-end harness: runs the real server binary as a child process, reads its error log
// through a pipe, and talks HTTP to it over real sockets.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/eventually.hpp"

namespace prefork::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A path handed over by meson through the environment (see tests/e2e/meson.build).
std::string built_path(const char* variable);
// The whole file, or "" when it cannot be read.
std::string read_whole(const std::string& path);
// The prefork binary (the app named by the config), and examples/hello (a static server).
inline std::string prefork_binary() {
  return built_path("PREFORK_BINARY");
}
inline std::string hello_binary() {
  return built_path("HELLO_BINARY");
}

class Server {
 public:
  // env: "KEY=VALUE" entries set in the child before it executes binary.
  Server(const std::string& binary, const std::vector<std::string>& args,
         const std::vector<std::string>& env = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until the log has a line containing text; returns that line or nullopt at the deadline.
  std::optional<std::string> wait_for_line(std::string_view text,
                                           std::chrono::milliseconds timeout = 10s);
  // Waits until the log has at least count lines containing text.
  bool wait_for_lines(std::string_view text, std::size_t count,
                      std::chrono::milliseconds timeout = 10s);
  std::size_t count_lines(std::string_view text);
  std::string log();
  // The port of the first "Listening at: http://HOST:PORT" line (or https://); 0 at the
  // deadline.
  int port(std::chrono::milliseconds timeout = 10s);
  // The port of the first line that contains start ("Listening at: https://").
  int port_of(std::string_view start, std::chrono::milliseconds timeout = 10s);
  // port(), once the master also has workers live children; 0 when either does not come.
  int serving_port(std::size_t workers, std::chrono::milliseconds timeout = 10s) {
    int listening = port(timeout);
    return listening > 0 && wait_for_worker_count(workers, timeout) ? listening : 0;
  }
  // Live (not zombie) child processes of the master.
  std::vector<pid_t> workers() const;
  // Waits until the master has exactly count live children.
  bool wait_for_worker_count(std::size_t count, std::chrono::milliseconds timeout = 10s);
  // SIGKILLs the first worker and waits until the master has as many workers as before, the
  // killed one not among them. Returns its pid, or 0 when the replacement did not come.
  pid_t kill_a_worker_and_await_its_replacement(std::chrono::milliseconds timeout = 10s);
  void signal(int signum) const;
  // The master's exit code (128 + signal when killed), or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);

 private:
  void read_log();
  bool log_caught_up();

  pid_t pid_ = -1;
  int log_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;
  bool reading_ = false;    // the reader has bytes it has not appended yet
  bool log_ended_ = false;  // every writer has closed the pipe
  std::atomic<bool> stop_reading_{false};
  std::thread reader_;
};

struct Reply {
  bool ok = false;  // a whole response arrived
  int status = 0;
  std::string head;
  std::string body;
};

// One request on a new connection with "Connection: close"; the reply is read until EOF.
Reply http_request(int port, std::string_view method, std::string_view target,
                   std::string_view body = {}, std::chrono::milliseconds timeout = 10s);
inline Reply http_get(int port, std::string_view target, std::chrono::milliseconds timeout = 10s) {
  return http_request(port, "GET", target, {}, timeout);
}
// headers: whole lines, each ending in \r\n.
Reply http_get_with_headers(int port, std::string_view target, std::string_view headers);
Reply http_get_unix(const std::string& path, std::string_view target);
// Sends raw bytes on a new connection and returns whatever comes back until the server closes
// (or 5 s of silence).
std::string raw_exchange(int port, std::string_view bytes);

// A client connection kept open between requests (keep-alive), closed on destruction.
class Client {
 public:
  explicit Client(int port, std::chrono::milliseconds timeout = 10s);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends a GET without "Connection: close".
  bool send_get(std::string_view target);
  // Reads one response, its body by Content-Length.
  Reply read_reply();
  Reply get(std::string_view target) { return send_get(target) ? read_reply() : Reply{}; }
  // True when the server closes the connection (EOF or reset) before the timeout.
  bool closed_by_server();

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the previous response
};

// Sends requests for target from a few threads until stopped; counts the ones answered with 200
// and the ones that were not. With "/pid" it also keeps the pids that answered.
class Load {
 public:
  // keep_alive: each thread sends its requests on one connection, and opens another only when
  // the server answers with "Connection: close" (a request the server closes on is a failure).
  Load(int port, int threads, std::string target = "/", bool keep_alive = false)
      : target_(std::move(target)) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, port, keep_alive] {
        std::optional<Client> connection;
        while (!stop_) {
          if (keep_alive && !connection) connection.emplace(port, 5s);
          Reply reply = keep_alive ? connection->get(target_) : http_get(port, target_, 5s);
          if (keep_alive && (reply.status != 200 || closes(reply))) connection.reset();
          if (reply.status != 200) {
            ++failed_;
            continue;
          }
          ++answered_;
          if (target_ == "/pid") {
            std::lock_guard lock(mutex_);
            pids_.insert(pid_t(std::atol(reply.body.c_str())));
          }
        }
      });
    }
  }
  ~Load() { stop(); }
  long answered() const { return answered_; }
  // True once `more` requests beyond those answered now are answered: the load goes on.
  bool answers_more(long more, std::chrono::milliseconds timeout = 10s) const;
  long failed() const { return failed_; }
  std::set<pid_t> pids() const {
    std::lock_guard lock(mutex_);
    return pids_;
  }
  void stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  static bool closes(const Reply& reply) {
    return reply.head.find("Connection: close") != std::string::npos;
  }

  const std::string target_;
  std::atomic<bool> stop_{false};
  std::atomic<long> answered_{0};
  std::atomic<long> failed_{0};
  mutable std::mutex mutex_;
  std::set<pid_t> pids_;
  std::vector<std::thread> threads_;
};

// True when no pid of now is one of old: every worker was replaced.
inline bool all_replaced(const std::vector<pid_t>& now, const std::vector<pid_t>& old) {
  return std::none_of(now.begin(), now.end(), [&](pid_t pid) {
    return std::find(old.begin(), old.end(), pid) != old.end();
  });
}

// The errno of a connect() to 127.0.0.1:port, 0 when it succeeds.
int connect_error(int port);

using prefork::testing::eventually;

// The system call a process is blocked in (/proc/PID/syscall), -1 when it is running or gone.
long current_syscall(pid_t pid);
// True while pid sleeps in nanosleep/clock_nanosleep: a handler blocking in /sleep.
bool sleeping_in_handler(pid_t pid);
// The same for any thread of pid: a handler blocking in /sleep on a thread pool.
bool thread_sleeping_in_handler(pid_t pid);
std::string process_cmdline(pid_t pid);
// Fields of /proc/PID/stat.
struct ProcessStat {
  char state = 0;
  pid_t parent = 0;
  pid_t session = 0;
  long terminal = 0;  // the controlling terminal's device number, 0 for none
};
// nullopt when pid is gone.
std::optional<ProcessStat> process_stat(pid_t pid);
// The value of a "Name:\tvalue" line of /proc/PID/status ("SigBlk"); empty when there is none.
std::string status_field(pid_t pid, std::string_view name);
// Live (not zombie) child processes of parent.
std::vector<pid_t> children_of(pid_t parent);
bool process_alive(pid_t pid);
char process_state(pid_t pid);
// The descriptors pid holds open (fd_targets' count).
std::size_t open_fd_count(pid_t pid);
// VmRSS of /proc/PID/status in KiB, 0 when pid is gone.
long rss_kib(pid_t pid);
// True when a mapping of pid (/proc/PID/maps) names path: a library it has loaded.
bool maps_contain(pid_t pid, const std::string& path);

// One sd_notify(3) datagram and the pid of the process that sent it.
struct NotifyMessage {
  pid_t pid = 0;
  std::string text;
  // True when one of the message's lines is line ("READY=1").
  bool has(std::string_view line) const;
  // The value of KEY=VALUE, or nullopt when the message has no such line.
  std::optional<std::string> value(std::string_view key) const;
};

// systemd's end of NOTIFY_SOCKET: a datagram socket that learns each sender's pid
// (SO_PASSCRED), bound at a path or, for "@name", at an abstract address.
class NotifySocket {
 public:
  explicit NotifySocket(std::string address);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The server's environment entry.
  std::string env() const { return "NOTIFY_SOCKET=" + address_; }
  // The next message, or nullopt after timeout.
  std::optional<NotifyMessage> next(std::chrono::milliseconds timeout = 10s);
  // Reads messages until one has line; nullopt at the deadline.
  std::optional<NotifyMessage> wait_for(std::string_view line,
                                        std::chrono::milliseconds timeout = 10s);
  // Every message read so far, in order.
  const std::vector<NotifyMessage>& received() const { return received_; }

 private:
  std::string address_;
  int fd_ = -1;
  std::vector<NotifyMessage> received_;
};

// CLOCK_MONOTONIC in microseconds, the clock of MONOTONIC_USEC.
std::uint64_t monotonic_usec();

// The parent of pid; 0 when it is gone.
pid_t parent_pid(pid_t pid);
// The pid written in a pidfile; 0 when there is none.
pid_t read_pidfile(const std::string& path);
bool path_exists(const std::string& path);
// What each open descriptor of pid refers to ("socket:[123]", "pipe:[4]", "/dev/null").
std::map<int, std::string> fd_targets(pid_t pid);
// Whether fd_a of a and fd_b of b are one open file (kcmp); nullopt when the kernel does not
// say (no permission, no kcmp).
std::optional<bool> same_open_file(pid_t a, int fd_a, pid_t b, int fd_b);

// A process the test did not start but must stop: a new master that became the test's child
// (the test is a subreaper) when its old master exited. At scope exit it and its children are
// killed and reaped, whatever the test did.
class Adopted {
 public:
  // old_master: pid's parent until it exits.
  Adopted(pid_t pid, pid_t old_master) : pid_(pid), old_master_(old_master) {}
  ~Adopted();
  Adopted(const Adopted&) = delete;
  Adopted& operator=(const Adopted&) = delete;

  pid_t pid() const { return pid_; }
  // Sends signum; then the exit code (128 + signal when killed), or nullopt at the deadline.
  // Only once the process is the test's child.
  std::optional<int> stop(int signum, std::chrono::milliseconds timeout = 20s);

 private:
  pid_t pid_;
  pid_t old_master_;
  bool reaped_ = false;
};

// A private directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

}  // namespace prefork::e2e
