// The one place per-request measurements leave the server: metrics and the access log plug in
// here.
#pragma once

#include <prefork/request.hpp>

#include <cstddef>
#include <string_view>

namespace prefork::worker {

// Views into the connection, valid only during RequestObserver::on_request.
struct RequestRecord {
  int status = 0;
  std::string_view method;  // "" for a request rejected before its method was known
  double duration_seconds = 0;
  std::size_t request_bytes = 0;     // head and body as received
  const Request* request = nullptr;  // null for a request rejected before it was parsed
  std::string_view peer;             // the client as Request::peer() gives it
  std::string_view answer;           // the answer as serialized: head, then body (none for HEAD)
  // A streamed answer's body: the bytes the app wrote (chunk framing not counted); answer then
  // holds the head alone.
  std::size_t streamed_bytes = 0;
};

// Called on the worker's loop for every answered request, rejected ones included. Null by
// default (Boot::observer), and then nothing is measured at all.
class RequestObserver {
 public:
  virtual void on_request(const RequestRecord& record) = 0;
  // A handler threw (its request is answered 500, and observed as any other): method is
  // method_label()'s, route route_label()'s (handler_call.hpp), error_type the exception's type
  // (exception_type.hpp). On the loop.
  virtual void on_handler_error(std::string_view /*method*/, std::string_view /*route*/,
                                std::string_view /*error_type*/) {}

 protected:
  ~RequestObserver() = default;
};

}  // namespace prefork::worker
