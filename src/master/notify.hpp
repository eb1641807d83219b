// systemd's service notifications (sd_notify(3)) without libsystemd: each message is one
// datagram of KEY=VALUE lines to $NOTIFY_SOCKET, sent from the master's loop and never waited
// for.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace prefork::master {

// NOTIFY_SOCKET's value as an address: "/path", or "@name" for an abstract socket.
struct NotifyAddress {
  sockaddr_un address{};
  socklen_t length = 0;
};

Result<NotifyAddress> parse_notify_address(std::string_view text);

class Notifier {
 public:
  // Sends nothing: prefork runs outside systemd (or under Type=simple).
  Notifier() = default;
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from the environment:
  // a worker, or a program the app runs, that inherited them could speak for the service.
  static Notifier from_environment();

  // What a re-executed master needs back in its environment: NOTIFY_SOCKET as it was ("" when
  // unset), and WATCHDOG_USEC when the watchdog is this process's (0 otherwise).
  const std::string& socket() const { return socket_; }
  std::uint64_t watchdog_usec() const { return watchdog_usec_; }
  // How often to send WATCHDOG=1 (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises);
  // 0 when there is no watchdog to feed.
  std::uint64_t watchdog_interval_ms() const;

  // True from start, and from a reload, until READY=1 is sent.
  bool awaiting_ready() const { return awaiting_ready_; }
  // READY=1 with the worker count in STATUS.
  void ready(int workers);
  // RELOADING=1 with MONOTONIC_USEC, which Type=notify-reload requires; READY=1 follows.
  void reloading();
  // A refused reload: the running configuration serves on, so READY=1 at once.
  void reload_failed(std::string_view reason);
  // STATUS=N workers when the count has changed, at most once a second (called often).
  void workers_changed(int workers);
  void stopping();
  void watchdog() const;
  // MAINPID=pid: systemd watches pid (the other master of a binary upgrade) from now on, and
  // this process says nothing more (no STOPPING=1 when it exits, no READY, STATUS or WATCHDOG=1)
  // until take_back. Once only: later calls send nothing.
  void hand_over(pid_t pid);
  // After hand_over, the other master has exited: MAINPID= this process again, with READY=1 and
  // the worker count, or with STOPPING=1 when this one is stopping too; the messages resume.
  // Nothing when the service was not handed over.
  void take_back(int workers);

 private:
  void send(const std::string& message) const;
  void send_status(std::string message, int workers);

  std::string socket_;
  NotifyAddress address_;
  std::uint64_t watchdog_usec_ = 0;
  bool awaiting_ready_ = true;
  bool stopping_ = false;
  bool handed_over_ = false;
  int reported_workers_ = -1;
  std::int64_t reported_at_ms_ = 0;
};

}  // namespace prefork::master
