// -D/--daemon: the master detaches from its terminal at start, before on_starting and binding, as
// gunicorn's daemonize does (fork, setsid, fork). The process that was started waits and exits with
// the outcome, so that a shell or an init script learns whether the server came up.
#pragma once

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace prefork::master {

class Daemon {
 public:
  // Returns in the daemon only, a new session's grandchild with stdin and stdout on /dev/null.
  // The process that called it exits there: 0 once the daemon calls serving(), 1 if the daemon
  // ends first. fork keeps only the calling thread: call it before the loop and its threads.
  static Result<Daemon> detach(const config::Config& config);

  // stderr to /dev/null, then the launching process exits 0. Until then stderr stays on the
  // terminal, so that an error at start-up (the pidfile, the metrics port) reaches it.
  void serving();

 private:
  explicit Daemon(UniqueFd report) : report_(std::move(report)) {}

  UniqueFd report_;  // the write end of the pipe the launching process waits on
};

}  // namespace prefork::master
