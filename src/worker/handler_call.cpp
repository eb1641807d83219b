#include "worker/handler_call.hpp"

#include <exception>
#include <utility>

#include "core/log.hpp"
#include "worker/builtin_metrics.hpp"
#include "worker/exception_type.hpp"

namespace prefork::worker {
namespace {

// The handler call running on this thread, innermost first through outer_.
thread_local HandlerCall* current_call = nullptr;

}  // namespace

void log_current_exception(std::string_view what) noexcept {
  try {
    throw;
  } catch (const std::exception& error) {
    log::error(what, " failed: ", error.what());
  } catch (...) {
    log::error(what, " failed with a non-standard exception");
  }
}

std::string_view route_label(const Request& request) {
  return request.route().empty() ? unnamed_route : request.route();
}

HandlerCall::HandlerCall(std::uint64_t token) noexcept
    : token_(token), outer_(std::exchange(current_call, this)) {}

HandlerCall::~HandlerCall() {
  finish();
}

bool HandlerCall::hold(std::uint64_t token, Response& response) {
  HandlerCall* call = current_call;
  if (!call || call->token_ != token || call->held_) return false;
  call->held_ = std::move(response);
  return true;
}

std::optional<Response> HandlerCall::finish() {
  if (current_) {
    current_call = outer_;
    current_ = false;
  }
  return std::exchange(held_, std::nullopt);
}

void call_handler(App& app, const Request& request, detail::ResponseSink& sink, std::uint64_t token,
                  const HandlerFailure& failed) {
  HandlerCall call(token);
  // Read before the call: an answer the handler hands to another thread may be sent meanwhile.
  std::string_view method = method_label(request.method());
  try {
    app.handle(request, Responder(&sink, token));
  } catch (...) {
    log_current_exception("handler");
    // The request is still valid: the loop keeps the exchange until this handler has returned.
    failed(method, route_label(request), current_exception_type());
  }
  if (std::optional<Response> answer = call.finish()) sink.complete(token, std::move(*answer));
}

Response call_respond(SyncApp& app, const Request& request, const HandlerFailure& failed) {
  try {
    return app.respond(request);
  } catch (...) {
    log_current_exception("handler");
    failed(method_label(request.method()), route_label(request), current_exception_type());
  }
  return Response::internal_error();
}

}  // namespace prefork::worker
