// GET /delay?ms=N: answers after N milliseconds, from a timer on the worker's loop. Nothing
// waits meanwhile: the worker serves other requests, and any number of delays costs one timer
// each.
#pragma once

#include <uv.h>
#include <prefork/app.hpp>

#include <string>
#include <utility>

#include "query.hpp"

namespace prefork::examples {

// A timer and the Responder it answers with, freed once libuv has closed the timer.
class DelayedAnswer {
 public:
  // libuv handles belong to the loop's thread: start() runs there (posted by delay()).
  static void start(uv_loop_t* loop, long ms, Responder responder) {
    auto* pending = new DelayedAnswer(ms, std::move(responder));
    uv_timer_init(loop, &pending->timer_);
    pending->timer_.data = pending;
    uv_timer_start(&pending->timer_, on_timer, std::uint64_t(ms), 0);
  }

 private:
  DelayedAnswer(long ms, Responder responder) : ms_(ms), responder_(std::move(responder)) {}

  static void on_timer(uv_timer_t* timer) {
    auto* pending = static_cast<DelayedAnswer*>(timer->data);
    pending->responder_.send(
        Response::text(200, "waited " + std::to_string(pending->ms_) + " ms\n"));
    uv_close(reinterpret_cast<uv_handle_t*>(timer),
             [](uv_handle_t* handle) { delete static_cast<DelayedAnswer*>(handle->data); });
  }

  uv_timer_t timer_;
  long ms_;
  Responder responder_;
};

inline void delay(const Request& request, Responder responder) {
  constexpr long longest = 10'000;  // below the default keepalive and graceful_timeout
  std::optional<long> ms = query_number(request.query(), "ms");
  if (!ms || *ms < 0 || *ms > longest) {
    responder.send(Response::text(400, "ms must be a whole number from 0 to 10000\n"));
    return;
  }
  // handle() runs on the loop with the default worker class, but on a handler thread with
  // worker_class = "threads": post() puts the timer on the loop either way.
  Worker& worker = request.worker();
  worker.post([&worker, ms = *ms, responder = std::move(responder)]() mutable {
    DelayedAnswer::start(worker.loop(), ms, std::move(responder));
  });
}

}  // namespace prefork::examples
