// The master's work lane: jobs in order on the pool, errors as Status, retry with step-aside,
// and a drain that ends at the first failure.
#include "core/work_lane.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using prefork::Status;
using prefork::WorkLane;

namespace {

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  // Runs until done() holds (the loop has timers and pool work to wait for).
  template <class Done>
  void run_until(Done done) {
    while (!done()) uv_run(&loop, UV_RUN_ONCE);
  }
  uv_loop_t loop;
};

WorkLane::Job recording(std::vector<std::string>& log, std::string name, Status outcome = {}) {
  return {[outcome] { return outcome; },
          [&log, name](const Status& status) {
            log.push_back(name + (status.ok() ? "" : ": " + status.message()));
          }};
}

}  // namespace

TEST_CASE("jobs run one at a time, in order, and done runs on the loop thread") {
  Loop loop;
  std::vector<std::string> log;
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::thread::id loop_thread = std::this_thread::get_id();
  bool done_on_loop = true;
  {
    WorkLane lane(&loop.loop, "test", 0);
    for (int i = 0; i < 5; ++i) {
      lane.push({[&] {
                   most_running = std::max(most_running.load(), ++running);
                   --running;
                   return Status();
                 },
                 [&, i](const Status&) {
                   done_on_loop &= std::this_thread::get_id() == loop_thread;
                   log.push_back(std::to_string(i));
                 }});
    }
    loop.run_until([&] { return lane.idle(); });
  }
  CHECK(log == std::vector<std::string>{"0", "1", "2", "3", "4"});
  CHECK(most_running == 1);
  CHECK(done_on_loop);
}

TEST_CASE("an exception thrown by a job is its error Status") {
  Loop loop;
  std::vector<std::string> log;
  WorkLane lane(&loop.loop, "test", 0);
  lane.push({[]() -> Status { throw std::runtime_error("Redis went away"); },
             [&](const Status& status) { log.push_back(status.message()); }});
  loop.run_until([&] { return lane.idle(); });
  CHECK(log == std::vector<std::string>{"Redis went away"});
  CHECK_FALSE(lane.last_status().ok());
}

TEST_CASE("without retry, a failure reaches done and the next job still runs") {
  Loop loop;
  std::vector<std::string> log;
  WorkLane lane(&loop.loop, "test", 0);
  lane.push(recording(log, "a", Status::error("down")));
  lane.push(recording(log, "b"));
  loop.run_until([&] { return lane.idle(); });
  CHECK(log == std::vector<std::string>{"a: down", "b"});
  CHECK(lane.last_status().ok());
}

TEST_CASE("with retry, a failed job steps aside, the others go on, and it runs again later") {
  Loop loop;
  std::vector<std::string> log;
  std::atomic<int> attempts{0};
  WorkLane lane(&loop.loop, "test", 10);
  lane.push({[&] { return ++attempts < 3 ? Status::error("not yet") : Status(); },
             [&](const Status& status) { log.push_back(status.ok() ? "a" : "a failed"); }});
  lane.push(recording(log, "b"));
  loop.run_until([&] { return lane.idle(); });
  // done runs once, after the success; b did not wait for a's retries.
  CHECK(log == std::vector<std::string>{"b", "a"});
  CHECK(attempts == 3);
}

TEST_CASE("drain tries a set-aside job once more and stops at the first failure") {
  Loop loop;
  std::vector<std::string> log;
  std::atomic<int> attempts{0};
  WorkLane lane(&loop.loop, "test", 60000);
  lane.push({[&] {
               ++attempts;
               return Status::error("down");
             },
             [&](const Status&) { log.push_back("a"); }});
  loop.run_until([&] { return attempts == 1 && !lane.running(); });
  lane.push(recording(log, "b"));  // runs at once; c and d wait behind it
  lane.push(recording(log, "c"));
  lane.push(recording(log, "d"));
  // a's retry is a minute away: drain does not wait for it, it runs a again after b, and a's
  // failure ends the drain before c and d.
  lane.drain(true);
  CHECK(attempts == 2);
  CHECK(log == std::vector<std::string>{"b"});
  CHECK(lane.idle());
}

TEST_CASE("drain with run_queued runs every queued job when they succeed") {
  Loop loop;
  std::vector<std::string> log;
  WorkLane lane(&loop.loop, "test", 1000);
  for (const char* name : {"a", "b", "c"}) lane.push(recording(log, name));
  lane.drain(true);
  CHECK(log == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("drain without run_queued waits for the running job and drops the queued ones") {
  Loop loop;
  std::vector<std::string> log;
  WorkLane lane(&loop.loop, "test", 0);
  for (const char* name : {"a", "b", "c"}) lane.push(recording(log, name));
  lane.drain(false);
  CHECK(log == std::vector<std::string>{"a"});
  CHECK(lane.idle());
}
