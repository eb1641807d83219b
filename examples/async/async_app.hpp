// The async example: handlers that answer later, through the Responder they own. Each kind of
// answer has its own header, and the route table below is the one place routes are added:
//   /compute?n=N           CPU work offloaded to libuv's thread pool (compute.hpp)
//   /delay?ms=N            an answer from a timer on the worker's loop (delay.hpp)
//   /bytes?mib=N           a large download, streamed with back-pressure (bytes.hpp)
//   /events?count=N&ms=M   server-sent events, streamed from a timer (events.hpp)
#pragma once

#include <prefork/app.hpp>

#include <memory>
#include <string_view>

#include "bytes.hpp"
#include "compute.hpp"
#include "delay.hpp"
#include "events.hpp"

namespace prefork::examples {

struct AsyncRoute {
  std::string_view path;
  // The route's name: the endpoint label of error_handling_total, should a handler throw.
  const char* name;
  void (*handler)(const Request&, Responder);
};

inline constexpr AsyncRoute async_routes[] = {
    {"/compute", "compute", compute},
    {"/delay", "delay", delay},
    {"/bytes", "bytes", bytes},
    {"/events", "events", events},
};

class AsyncApp : public App {
 public:
  void handle(const Request& request, Responder responder) override {
    for (const AsyncRoute& route : async_routes) {
      if (request.path() != route.path) continue;
      request.set_route(route.name);
      route.handler(request, std::move(responder));
      return;
    }
    responder.send(Response::view(404, "text/plain; charset=utf-8", "Not Found\n"));
  }

  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<AsyncApp>(); }
};

}  // namespace prefork::examples
