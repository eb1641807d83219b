// The entry point of a forked worker: one libuv loop serving HTTP on inherited listeners.
#pragma once

#include <sys/types.h>

#include <prefork/app.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/exit_codes.hpp"
#include "core/heartbeat.hpp"
#include "net/tls/server_context.hpp"

namespace prefork::storage {
struct RedisEndpoint;
}

namespace prefork::worker {

class RequestObserver;

// A listening socket, already bound (inherited or reuse_port), and whether it speaks TLS.
struct ListenSocket {
  int fd = -1;
  // The master made it before fork: the worker never reads a key file. Null: plain HTTP.
  std::shared_ptr<const net::tls::ServerContext> tls;
};

struct Boot {
  const config::Config* config = nullptr;
  std::vector<ListenSocket> listeners;
  int id = 0;  // Worker::id()
  // The smallest position no other live worker holds: the metrics' worker_id label, reused
  // by replacements so that series stay proportional to workers, not to restarts.
  int position = 0;
  Heartbeat* heartbeat = nullptr;  // shared with the master
  // The master's pid, taken before fork: a master that died before the worker got going has
  // already made getppid() 1. 0: the parent at start (a worker run without a master).
  pid_t master_pid = 0;
  App* preloaded_app = nullptr;  // preload_app: made in the master before fork
  AppFactory factory = nullptr;  // used when preloaded_app is null
  // A .so the master did not open (no preload_app): the worker opens it, as it is on disk now.
  std::string app_spec;
  RequestObserver* observer = nullptr;  // per-request measurements (worker/observer.hpp)
  // Where the worker's metric values go (ARCHITECTURE.md). Both unset: metrics are off.
  std::string metrics_dir;   // file storage: the resolved PROMETHEUS_MULTIPROC_DIR
  int metrics_slot_fd = -1;  // Redis storage: the shared-memory slot the master made before fork
  std::shared_ptr<const storage::RedisEndpoint> metrics_redis;  // and the master's endpoint
};

// Runs until the worker is told to stop (SIGTERM graceful, SIGINT/SIGQUIT quick), recycles
// after max_requests, or finds its master gone. Returns the process exit code.
int run(const Boot& boot);

}  // namespace prefork::worker
