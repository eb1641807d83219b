// A .so app configured from the [app] table of the config file:
//
//   app = "path/to/libgreeting.so:greeting"
//   [app]
//   greeting = "Hello from the plugin"
#include <prefork/app.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace {

class GreetingApp : public prefork::SyncApp {
 public:
  GreetingApp(std::string greeting, std::string name)
      : greeting_(std::move(greeting) + "\n"), name_(std::move(name)) {}

  prefork::Response respond(const prefork::Request& request) override {
    if (request.path() == "/") return prefork::Response::text(200, greeting_);
    if (request.path() == "/name") return prefork::Response::text(200, name_ + "\n");
    return prefork::Response::view(404, "text/plain; charset=utf-8", "Not Found\n");
  }

 private:
  std::string greeting_;
  std::string name_;
};

// A missing greeting is a boot error: the worker exits with code 3 and the master stops.
std::unique_ptr<prefork::App> make_greeting(const prefork::AppConfig& config) {
  if (!config.contains("greeting")) throw std::runtime_error("[app] greeting is required");
  return std::make_unique<GreetingApp>(config.get_string("greeting"),
                                       config.get_string("name", "world"));
}

}  // namespace

PREFORK_APP(greeting, make_greeting);
