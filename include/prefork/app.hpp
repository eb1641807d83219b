// The application API: what a user implements, and how prefork finds it.
#pragma once

#include <prefork/request.hpp>
#include <prefork/response.hpp>
#include <prefork/stream.hpp>
#include <prefork/version.hpp>
#include <prefork/worker.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace prefork {

namespace detail {
// Implemented by the worker: receives the one response of a request. complete() may be called
// from any thread; the token tells the sink which request it answers.
class ResponseSink {
 public:
  virtual void complete(std::uint64_t token, Response&& response) = 0;
  // Sends the head of a streamed answer; the returned sink takes its body. On the loop only:
  // from another thread the request is answered 500 and the result is null.
  virtual StreamSink* start_stream(std::uint64_t token, Response&& head,
                                   std::optional<std::size_t> content_length) = 0;

 protected:
  ~ResponseSink() = default;
};
}  // namespace detail

// The right to answer one request, once: send() a whole response or stream() one. Destroying it
// unsent answers 500, so no request hangs.
class Responder {
 public:
  Responder() = default;
  Responder(detail::ResponseSink* sink, std::uint64_t token) noexcept
      : sink_(sink), token_(token) {}
  Responder(Responder&& other) noexcept
      : sink_(std::exchange(other.sink_, nullptr)), token_(other.token_) {}
  Responder& operator=(Responder&& other) noexcept {
    if (this != &other) {
      fail_if_unsent();
      sink_ = std::exchange(other.sink_, nullptr);
      token_ = other.token_;
    }
    return *this;
  }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder() { fail_if_unsent(); }

  void send(Response&& response) {
    if (auto* sink = std::exchange(sink_, nullptr)) sink->complete(token_, std::move(response));
  }
  // Answers with a streamed body (stream.hpp), and like send() uses the Responder up: head's
  // status and headers go out at once, its body (if any) is the first bytes of the stream, and
  // the Stream takes the rest. content_length: the body's exact size, when known. On the
  // worker's loop only (an async handler, a callback of the loop, or a Worker::post task).
  Stream stream(Response head, std::optional<std::size_t> content_length = std::nullopt) {
    auto* sink = std::exchange(sink_, nullptr);
    if (!sink) return Stream();
    detail::StreamSink* body = sink->start_stream(token_, std::move(head), content_length);
    return body ? Stream(body, token_) : Stream();
  }
  bool sent() const { return sink_ == nullptr; }

 private:
  void fail_if_unsent() {
    if (sink_) send(Response::internal_error());
  }

  detail::ResponseSink* sink_ = nullptr;
  std::uint64_t token_ = 0;
};

class App {
 public:
  virtual ~App() = default;
  virtual void on_worker_start(Worker&) {}
  virtual void on_worker_stop(Worker&) {}
  // An exception escaping handle() answers 500 and counts an error.
  virtual void handle(const Request& request, Responder responder) = 0;
};

// For handlers that answer at once.
class SyncApp : public App {
 public:
  virtual Response respond(const Request& request) = 0;
  void handle(const Request& request, Responder responder) final {
    responder.send(respond(request));
  }
};

using AppFactory = std::unique_ptr<App> (*)(const AppConfig& config);

struct AppDescriptor {
  std::uint32_t abi_version;
  const char* name;
  AppFactory factory;
};

// Runs prefork (the same flags as the prefork binary) with an app linked into the program.
int run(int argc, char** argv, AppFactory factory);

}  // namespace prefork

// Exports an app from a .so: `app = "path/libfoo.so:name"` finds the symbol prefork_app_<name>.
#define PREFORK_APP(name, factory)                    \
  extern "C" __attribute__((visibility("default")))   \
  const ::prefork::AppDescriptor prefork_app_##name { \
    ::prefork::abi_version, #name, factory            \
  }
