// The master forks workers while its pool threads may be running storage work. A child starts
// with one thread, so a lock another thread held at fork() (the allocator's under sanitizers,
// the log's) would stay locked in it forever. The gate prevents that without making fork wait
// for Redis: a pool thread holds the gate while it runs (allocating, logging), and lets go of
// it only while it waits in poll() for a socket — a point where it holds no such lock. fork()
// takes the gate, so it waits at most for the computing part of a job, never for the network.
#pragma once

#include <mutex>

namespace prefork::fork_gate {

// Held by a pool thread for the life of one job.
class Hold {
 public:
  Hold();
  ~Hold();
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;
};

// Around a wait for a socket: lets the gate go if this thread holds it (a no-op elsewhere,
// e.g. in workers or tests that call storage code directly).
class OpenWhileWaiting {
 public:
  OpenWhileWaiting();
  ~OpenWhileWaiting();
  OpenWhileWaiting(const OpenWhileWaiting&) = delete;
  OpenWhileWaiting& operator=(const OpenWhileWaiting&) = delete;

 private:
  bool opened_;
};

// Taken by the forking thread around fork(), released in the parent afterwards. (The child
// never releases it: it has no pool thread to let in.)
void close_for_fork();
void open_after_fork();

}  // namespace prefork::fork_gate
