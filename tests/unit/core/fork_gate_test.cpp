// The fork gate: fork() waits for a pool thread's computing, never for its waiting.
#include "core/fork_gate.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <future>

namespace fork_gate = prefork::fork_gate;
using namespace std::chrono_literals;

namespace {

// Closes the gate from another thread (as the master's loop thread does around fork) and
// reports when it got it; the gate is opened again right after.
std::future<void> close_elsewhere() {
  return std::async(std::launch::async, [] {
    fork_gate::close_for_fork();
    fork_gate::open_after_fork();
  });
}

}  // namespace

TEST_CASE("a job holding the gate keeps fork out until it lets go") {
  std::future<void> forked;
  {
    fork_gate::Hold hold;
    forked = close_elsewhere();
    // Showing that something does not happen needs a bounded wait.
    CHECK(forked.wait_for(100ms) == std::future_status::timeout);
  }
  CHECK(forked.wait_for(10s) == std::future_status::ready);
}

TEST_CASE("a job waiting for a socket lets fork in") {
  fork_gate::Hold hold;
  fork_gate::OpenWhileWaiting waiting;
  CHECK(close_elsewhere().wait_for(10s) == std::future_status::ready);
}

TEST_CASE("OpenWhileWaiting outside a job does nothing") {
  fork_gate::OpenWhileWaiting waiting;
  CHECK(close_elsewhere().wait_for(10s) == std::future_status::ready);
}
