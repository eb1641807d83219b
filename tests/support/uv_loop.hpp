// Running a libuv loop in a test: until a condition holds (with a deadline), and to its close.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

namespace prefork::testing {

// Runs loop until done() or the deadline; a 5 ms tick wakes the loop to re-check.
inline bool run_until(uv_loop_t* loop, const std::function<bool()>& done, double seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  bool reached = done();
  while (!reached && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
    reached = done();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return reached;
}

// Lets libuv finish closing handles, then closes the loop: 0 when nothing was left open.
inline int close_loop(uv_loop_t* loop) {
  for (int round = 0; round < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; ++round) {
  }
  return uv_loop_close(loop);
}

// A loop of the test's own, closed at scope exit once its handles are.
struct TestLoop {
  uv_loop_t loop;
  TestLoop() { uv_loop_init(&loop); }
  ~TestLoop() { close_loop(&loop); }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
};

}  // namespace prefork::testing
