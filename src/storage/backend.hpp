// Where metric values live, as the master and a worker need it (ARCHITECTURE.md). The master
// opens one Backend at start: Redis when enabled and reachable, files otherwise. No code
// outside src/storage/ knows which; another Redis topology (Sentinel, Cluster) is another
// Backend, or another connection under RedisBackend, behind the same calls. A process that
// only serves what others stored (`prefork metrics`) opens a Reader: the scrape and health
// half, which writes nothing and cleans nothing up.
//
// Master side: everything here is called on the master's loop and never waits for storage;
// the work runs on the thread pool (core/work_lane.hpp) and reports back on the loop.
// Worker side: open_worker_sink, after fork, in the worker.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "metrics/value_store.hpp"

namespace prefork::storage {

// Where a new worker's values go, made by the master before fork and moved into the child.
struct RedisEndpoint;

struct WorkerPlace {
  std::string directory;  // files: the worker writes its own .db files here
  UniqueFd slot;          // Redis: the shared-memory slot the worker writes (metrics/slot.hpp)
  // Redis: where the master writes, TLS files loaded before fork, so that a worker (which may
  // have dropped privileges) reads no key file. Null: the worker resolves the config itself.
  std::shared_ptr<const RedisEndpoint> redis;
};

struct Health {
  std::string storage;  // "redis" or "file"
  bool healthy = true;  // the storage in use works
  bool redis_connected = false;
  bool redis_fallback = false;  // Redis was asked for but unreachable at start: files
};

class Reader {
 public:
  virtual ~Reader() = default;

  // The aggregated text 0.0.4, or why not; done runs on the loop.
  virtual void scrape(std::function<void(Result<std::string>)> done) = 0;
  // Now, or within a few milliseconds: never after a Redis timeout.
  virtual void check_health(std::function<void(const Health&)> done) = 0;
  // Before the process exits; a Backend also writes its last values and cleans up its own
  // (bounded by the Redis timeouts).
  virtual void shut_down() = 0;
};

class Backend : public Reader {
 public:
  // A place for the next worker; worker_forked hands the master's side back after fork().
  virtual WorkerPlace prepare_worker() = 0;
  virtual void worker_forked(pid_t pid) = 0;
  // In a new worker, right after fork: closes what only the master may hold (other workers'
  // slots, its own slot, its Redis sockets). Must not allocate or touch the loop.
  virtual void close_in_child() = 0;
  // A reaped worker: its last values are kept, then its series are folded into the archive
  // (cleanup_dead_worker); done runs on the loop when both are stored.
  virtual void worker_reaped(pid_t pid, std::function<void()> done) = 0;

  // The master's own values: the store is made once; changes are written coalesced.
  virtual std::unique_ptr<metrics::ValueStore> master_store() = 0;
  virtual void master_values_changed() = 0;

  // Redis was asked for but unreachable at start: values live in files until the master is
  // restarted (or upgraded with USR2), and /health says "degraded".
  virtual bool redis_fallback() const = 0;
};

// Logs which storage it chose and why. Throws when no storage at all can be used.
std::unique_ptr<Backend> open_backend(const config::Config& config, uv_loop_t* loop);

// What `prefork metrics` serves: Redis when enabled, even while it is unreachable (/health
// says so and /metrics answers 503 until it is back), else metrics.multiproc_dir's files.
// An error when neither is configured: there would be nothing to read.
Result<std::unique_ptr<Reader>> open_reader(const config::Config& config, uv_loop_t* loop);

// A worker's side: the store its registry writes into, and for Redis the flusher that sends
// changed values every metrics.flush_interval_ms on the worker's loop.
class WorkerSink {
 public:
  virtual ~WorkerSink() = default;
  virtual std::unique_ptr<metrics::ValueStore> make_store() = 0;
  // Starts sending the values of store (made by make_store, owned by the registry).
  virtual void start(const metrics::ValueStore& store) = 0;
  // Graceful exit: a last flush, waited for up to wait_ms while the storage is reachable.
  virtual void stop(std::uint64_t wait_ms) = 0;
};

// Null when place names no storage (metrics off). Throws when the storage cannot be used.
std::unique_ptr<WorkerSink> open_worker_sink(const config::Config& config, WorkerPlace place,
                                             uv_loop_t* loop);

// The {pid} part of keys and file names: "{instance}-{pid}" when metrics.instance is set.
std::string process_name(const config::Config& config, long pid);

}  // namespace prefork::storage
