// One call of the app's handler (handle() or respond()), on the loop or on a handler thread,
// and the catch of an exception escaping it, reported with the request's method and route; and
// the guard around the app's other callbacks.
#pragma once

#include <prefork/app.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace prefork::worker {

// Told, inside the catch, of an exception escaping a handler: the request's method_label(),
// route_label() and current_exception_type(). On the thread that called the handler.
using HandlerFailure =
    std::function<void(std::string_view method, std::string_view route, std::string error_type)>;

// The endpoint label of a request the app named no route for, or of one never parsed.
inline constexpr std::string_view unnamed_route = "other";

// The endpoint label of a request: the route the app named (Request::set_route), else
// unnamed_route.
std::string_view route_label(const Request& request);

// While a handler runs, the answer it sends for its own request on the same thread is held and
// delivered once the handler has returned or thrown: until then the request stays valid, so the
// catch can still read the route the handler named. The sink's complete() asks hold() first.
class HandlerCall {
 public:
  // Becomes the current call of this thread.
  explicit HandlerCall(std::uint64_t token) noexcept;
  ~HandlerCall();
  HandlerCall(const HandlerCall&) = delete;
  HandlerCall& operator=(const HandlerCall&) = delete;

  // True when response answers this thread's current call and was taken to be held.
  static bool hold(std::uint64_t token, Response& response);
  // Ends the call: the answer it held, if any, for the caller to deliver.
  std::optional<Response> finish();

 private:
  std::uint64_t token_;
  std::optional<Response> held_;
  HandlerCall* outer_;
  bool current_ = true;
};

// app.handle(request, Responder(&sink, token)), its exception logged and reported to failed;
// then the answer held meanwhile goes to sink (an escaping exception's is the 500 of the
// Responder it dropped).
void call_handler(App& app, const Request& request, detail::ResponseSink& sink, std::uint64_t token,
                  const HandlerFailure& failed);

// app.respond(request), or 500 when it throws (logged and reported to failed).
Response call_respond(SyncApp& app, const Request& request, const HandlerFailure& failed);

// Only inside a catch block: logs the exception as "<what> failed: ...".
void log_current_exception(std::string_view what) noexcept;

// Runs one of the app's callbacks (a posted task, a stream's on_ready, offloaded work or its
// completion) from a libuv callback, where no exception may escape: one it throws is logged
// (Worker promises so) and the worker goes on. False when it threw.
template <class Callback>
bool run_app_callback(std::string_view what, Callback& callback) noexcept {
  try {
    callback();
    return true;
  } catch (...) {
    log_current_exception(what);
    return false;
  }
}

}  // namespace prefork::worker
