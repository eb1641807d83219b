// The example app: a greeting, an echo, a slow endpoint for shutdown and timeout tests, a
// handler that throws (answered 500 and counted as an error), the answering worker's pid, the
// client's address and scheme, and its certificate's subject; with [app] expose_env = true (tests
// only: it tells any client any variable), its environment.
#pragma once

#include <unistd.h>
#include <prefork/app.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace prefork::examples {

class HelloApp : public SyncApp {
 public:
  Response respond(const Request& request) override {
    std::string_view path = request.path();
    if (path == "/") return Response::view(200, "text/plain; charset=utf-8", "Hello, World!");
    if (path == "/echo" && request.method() == "POST") {
      return Response::text(200, std::string(request.body()));
    }
    if (path == "/sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(query_number(request.query(), "ms")));
      return Response::view(200, "text/plain; charset=utf-8", "slept\n");
    }
    if (path == "/throw") throw std::runtime_error("/throw throws");
    // Which worker answered: tests count requests per worker.
    if (path == "/pid") return Response::text(200, std::to_string(getpid()));
    // What the worker inherited: tests check which variables reach the app.
    if (path == "/env" && expose_env_) {
      const char* value = std::getenv(std::string(query_value(request.query(), "name")).c_str());
      if (!value) return Response::view(404, "text/plain; charset=utf-8", "unset\n");
      return Response::text(200, value);
    }
    // Who the client is and how it connected, as a trusted proxy says (tests of forwarding).
    if (path == "/peer") {
      return Response::text(200, std::string(request.peer()) + " " + std::string(request.scheme()));
    }
    // The verified client certificate (HTTPS with cert_reqs).
    if (path == "/subject") return Response::text(200, std::string(request.client_subject()));
    return Response::view(404, "text/plain; charset=utf-8", "Not Found\n");
  }

  // [app] boot_delay_ms: an app slow to load, for tests of when the workers are ready.
  static std::unique_ptr<App> make(const AppConfig& config) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config.get_int("boot_delay_ms", 0)));
    auto app = std::make_unique<HelloApp>();
    app->expose_env_ = config.get_bool("expose_env", false);
    return app;
  }

 private:
  bool expose_env_ = false;

  // The value of `name=…` in a query string, undecoded; empty when absent.
  static std::string_view query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
      std::string_view pair = query.substr(0, query.find('&'));
      if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
          pair[name.size()] == '=') {
        return pair.substr(name.size() + 1);
      }
      if (pair.size() == query.size()) break;
      query.remove_prefix(pair.size() + 1);
    }
    return {};
  }

  // The value of `name=N` in a query string; 0 when absent or not a number.
  static long query_number(std::string_view query, std::string_view name) {
    long value = 0;
    std::string_view digits = query_value(query, name);
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return value;
  }
};

}  // namespace prefork::examples
