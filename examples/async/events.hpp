// GET /events?count=N&ms=M: N server-sent events, one every M ms, from a timer on the worker's
// loop. The length is not known in advance, so the body is chunked; each event leaves as it is
// written. Nothing waits in between: an idle stream costs a timer and a connection.
#pragma once

#include <uv.h>
#include <prefork/app.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include "query.hpp"

namespace prefork::examples {

// A repeating timer and the stream it writes to, freed once libuv has closed the timer.
class EventSource {
 public:
  // libuv handles and Stream calls belong to the loop's thread: start() runs there (posted by
  // events()).
  static void start(uv_loop_t* loop, long count, long ms, Responder responder) {
    Response head = Response::empty(200);
    head.content_type = "text/event-stream";
    head.headers.emplace_back("Cache-Control", "no-cache");
    auto* source = new EventSource(count, responder.stream(std::move(head)));
    uv_timer_init(loop, &source->timer_);
    source->timer_.data = source;
    uv_timer_start(&source->timer_, on_tick, std::uint64_t(ms), std::uint64_t(ms));
  }

 private:
  EventSource(long count, Stream stream) : count_(count), stream_(std::move(stream)) {}

  static void on_tick(uv_timer_t* timer) {
    auto* source = static_cast<EventSource*>(timer->data);
    ++source->sent_;
    // An event is small: it is queued even when the client is behind, and a client that stops
    // reading altogether is closed after body_timeout, which ends the stream below.
    source->stream_.write("data: tick " + std::to_string(source->sent_) + " of " +
                          std::to_string(source->count_) + "\n\n");
    if (source->sent_ < source->count_ && !source->stream_.closed()) return;
    source->stream_.end();  // the last chunk; nothing when the client has left
    uv_close(reinterpret_cast<uv_handle_t*>(timer),
             [](uv_handle_t* handle) { delete static_cast<EventSource*>(handle->data); });
  }

  uv_timer_t timer_;
  long count_;
  long sent_ = 0;
  Stream stream_;
};

inline void events(const Request& request, Responder responder) {
  std::optional<long> count = query_number(request.query(), "count");
  std::optional<long> ms = query_number(request.query(), "ms");
  if (!count || *count < 1 || *count > 1000 || !ms || *ms < 1 || *ms > 10'000) {
    responder.send(Response::text(
        400, "count must be a whole number from 1 to 1000, ms one from 1 to 10000\n"));
    return;
  }
  // As in delay(): post() puts the timer and the stream on the loop, whatever the worker class.
  Worker& worker = request.worker();
  worker.post([&worker, count = *count, ms = *ms, responder = std::move(responder)]() mutable {
    EventSource::start(worker.loop(), count, ms, std::move(responder));
  });
}

}  // namespace prefork::examples
