// A streamed answer: its head is sent, then its body in pieces as the app produces them, with
// back-pressure. Made by Responder::stream (app.hpp).
#pragma once

#include <prefork/unique_function.hpp>

#include <cstdint>
#include <string_view>
#include <utility>

namespace prefork {

namespace detail {
// Implemented by the worker: the connection side of a Stream. The token names the request.
class StreamSink {
 public:
  virtual bool stream_write(std::uint64_t token, std::string_view bytes) = 0;
  virtual void stream_on_ready(std::uint64_t token, UniqueFunction<void()> callback) = 0;
  virtual bool stream_closed(std::uint64_t token) = 0;
  // complete: end() (the body is whole); otherwise abort().
  virtual void stream_finish(std::uint64_t token, bool complete) = 0;

 protected:
  ~StreamSink() = default;
};
}  // namespace detail

// The body of one answer, whose head has been sent. Every call belongs on the worker's loop
// (from another thread, Worker::post the work there); end() and abort() are also accepted from
// other threads, and then run on the loop.
//
// Framing is the server's: chunked transfer-encoding when the length was not given (HTTP/1.1),
// Content-Length when it was, and for an HTTP/1.0 client without a length the body ends when the
// connection closes. A HEAD request (or a status without a body) gets the head only: writes are
// accepted and dropped.
//
// Destroying a Stream that was not ended aborts it: the client sees the connection reset
// (never a body that looks complete).
class Stream {
 public:
  Stream() = default;
  Stream(detail::StreamSink* sink, std::uint64_t token) noexcept : sink_(sink), token_(token) {}
  Stream(Stream&& other) noexcept
      : sink_(std::exchange(other.sink_, nullptr)), token_(other.token_) {}
  Stream& operator=(Stream&& other) noexcept {
    if (this != &other) {
      abort();
      sink_ = std::exchange(other.sink_, nullptr);
      token_ = other.token_;
    }
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { abort(); }

  // Queues bytes of the body (copied). True: write more now. False: stop writing; either the
  // connection's unsent output has reached the high-water mark (the bytes are queued: on_ready
  // tells when to go on) or the stream is closed (closed(): the bytes were dropped).
  bool write(std::string_view bytes) { return sink_ && sink_->stream_write(token_, bytes); }
  // callback runs once, on the loop, when the stream can take more (its unsent output has
  // drained below the high-water mark) or has closed; soon, from the loop, when it already
  // can. A later on_ready replaces it; it is dropped unrun when the stream ends or aborts.
  void on_ready(UniqueFunction<void()> callback) {
    if (sink_) sink_->stream_on_ready(token_, std::move(callback));
  }
  // Writes go nowhere: the client is gone, the connection failed, or the stream was ended or
  // aborted.
  bool closed() const { return !sink_ || sink_->stream_closed(token_); }
  // The body is whole: with chunked framing the last chunk is sent; with a Content-Length, a
  // body shorter than announced aborts the connection instead. The connection then serves its
  // next request (keep-alive), and the request is logged and counted.
  void end() {
    if (auto* sink = std::exchange(sink_, nullptr)) sink->stream_finish(token_, true);
  }
  // Gives up: the connection is reset, so the client cannot take a partial body for a whole one.
  void abort() {
    if (auto* sink = std::exchange(sink_, nullptr)) sink->stream_finish(token_, false);
  }

 private:
  detail::StreamSink* sink_ = nullptr;
  std::uint64_t token_ = 0;
};

}  // namespace prefork
