#include <doctest/doctest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "app/loader.hpp"
#include "app/probe.hpp"

using namespace prefork;

namespace {

std::string module(const char* variable) {
  const char* path = std::getenv(variable);
  if (!path) throw std::runtime_error(std::string(variable) + " is not set");
  return path;
}

class Nothing : public App {
 public:
  void handle(const Request&, Responder) override {}
};

std::unique_ptr<App> make_nothing(const AppConfig&) {
  return std::make_unique<Nothing>();
}
std::unique_ptr<App> make_null(const AppConfig&) {
  return nullptr;
}
std::unique_ptr<App> make_throwing(const AppConfig&) {
  throw std::runtime_error("no database");
}

}  // namespace

TEST_CASE("an empty app setting uses the linked factory") {
  app::LoadOutcome outcome = app::resolve("", make_nothing);
  REQUIRE(outcome.ok());
  bool linked = outcome.app.factory == make_nothing;
  CHECK(linked);
  CHECK(outcome.app.name.empty());
}

TEST_CASE("no app setting and no linked factory is a configuration error") {
  app::LoadOutcome outcome = app::resolve("", nullptr);
  CHECK_FALSE(outcome.ok());
  CHECK(outcome.not_configured);
}

TEST_CASE("a spec without a name is refused with the expected form") {
  app::LoadOutcome outcome = app::resolve("libfoo.so", nullptr);
  CHECK(outcome.status.message().find("expected \"path/libfoo.so:name\"") != std::string::npos);
  CHECK_FALSE(outcome.not_configured);
}

TEST_CASE("a missing file is named") {
  app::LoadOutcome outcome = app::resolve("/nonexistent/libfoo.so:foo", nullptr);
  CHECK(outcome.status.message().find("file not found: /nonexistent/libfoo.so") !=
        std::string::npos);
}

TEST_CASE("a file that is not a library cannot be loaded") {
  app::LoadOutcome outcome = app::resolve("/etc/hostname:foo", nullptr);
  CHECK(outcome.status.message().find("cannot load") != std::string::npos);
}

TEST_CASE("a missing symbol is named") {
  app::LoadOutcome outcome = app::resolve(module("GREETING_MODULE") + ":nope", nullptr);
  CHECK(outcome.status.message().find("symbol prefork_app_nope not found") != std::string::npos);
}

TEST_CASE("another ABI version is refused, naming both versions") {
  app::LoadOutcome outcome = app::resolve(module("WRONG_ABI_MODULE") + ":wrong_abi", nullptr);
  CHECK(outcome.status.message().find("ABI version 999, but this prefork has ABI version " +
                                      std::to_string(abi_version)) != std::string::npos);
}

TEST_CASE("an app built for ABI 4 (std::function post/offload) is refused: rebuild it") {
  app::LoadOutcome outcome = app::resolve(module("OLD_ABI_MODULE") + ":old_abi", nullptr);
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.status.message().find("built for prefork ABI version 4, but this prefork has ABI "
                                      "version 5; rebuild the app against this prefork") !=
        std::string::npos);
}

TEST_CASE("a .so app is found by name and its factory reads the [app] table") {
  app::LoadOutcome outcome = app::resolve(module("GREETING_MODULE") + ":greeting", nullptr);
  REQUIRE(outcome.ok());
  CHECK(outcome.app.name == "greeting");
  AppConfig config;
  config.set("greeting", std::string("hi"));
  auto made = app::make(outcome.app, config);
  REQUIRE(made.ok());
  CHECK(made.value() != nullptr);
  auto refused = app::make(outcome.app, AppConfig{});
  CHECK_FALSE(refused.ok());
  CHECK(refused.message() == "the app factory failed: [app] greeting is required");
}

TEST_CASE("factories that throw or return nothing give an error, not a crash") {
  CHECK(app::make({make_throwing, "", ""}, {}).message() == "the app factory failed: no database");
  CHECK(app::make({make_null, "", ""}, {}).message() == "the app factory returned no app");
}

TEST_CASE("checking a .so in a child finds the app without mapping it in this process") {
  std::string path = module("HELLO_MODULE");
  app::LoadOutcome outcome = app::check_in_child(path + ":hello", nullptr);
  REQUIRE(outcome.ok());
  bool opened_here = outcome.app.factory != nullptr;
  CHECK_FALSE(opened_here);
  CHECK(outcome.app.name == "hello");
  CHECK(outcome.app.spec == path + ":hello");
  CHECK(dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD) == nullptr);
}

TEST_CASE("checking in a child reports what a worker's load would") {
  CHECK(app::check_in_child("/nonexistent/libfoo.so:foo", nullptr)
            .status.message()
            .find("file not found: /nonexistent/libfoo.so") != std::string::npos);
  CHECK(app::check_in_child(module("HELLO_MODULE") + ":nope", nullptr)
            .status.message()
            .find("symbol prefork_app_nope not found") != std::string::npos);
  CHECK(app::check_in_child("libfoo.so", nullptr)
            .status.message()
            .find("expected \"path/libfoo.so:name\"") != std::string::npos);
  CHECK(app::check_in_child("", nullptr).not_configured);
  bool linked = app::check_in_child("", make_nothing).app.factory == make_nothing;
  CHECK(linked);
}

TEST_CASE("a probe whose load hangs is killed at its time limit and the hang is named") {
  std::string spec = module("SLOW_CONSTRUCTOR_MODULE") + ":slow";
  Result<app::Probe> probe = app::Probe::start(spec, std::chrono::milliseconds(300));
  REQUIRE(probe.ok());
  auto started = std::chrono::steady_clock::now();
  app::LoadOutcome outcome = probe->wait();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(outcome.status.message() == "app \"" + spec +
                                        "\": loading it took longer than 300 ms (a static "
                                        "constructor that does not return?)");
}

TEST_CASE("a .so's PREFORK_HOOKS is found beside its app, and a .so without has none") {
  app::LoadOutcome with_hooks = app::resolve(module("HOOKS_MODULE") + ":hooks", nullptr);
  REQUIRE(with_hooks.ok());
  bool found = with_hooks.app.hooks != nullptr;
  REQUIRE(found);
  CHECK(with_hooks.app.hooks() != nullptr);
  app::LoadOutcome without = app::resolve(module("GREETING_MODULE") + ":greeting", nullptr);
  REQUIRE(without.ok());
  bool none = without.app.hooks == nullptr;
  CHECK(none);
}
