#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "master/arbiter.hpp"
#include "master/hooks.hpp"

using namespace prefork;

namespace {

// Sends the error log to a file for the scope, and reads it back.
class CapturedLog {
 public:
  CapturedLog() {
    char pattern[] = "/tmp/prefork-hooks-log-XXXXXX";
    int fd = mkstemp(pattern);
    if (fd >= 0) ::close(fd);
    path_ = pattern;
    log::open(path_);
  }
  ~CapturedLog() {
    log::open("-");
    ::unlink(path_.c_str());
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() const {
    std::ifstream file(path_);
    std::stringstream content;
    content << file.rdbuf();
    return content.str();
  }

 private:
  std::string path_;
};

class Recording : public MasterHooks {
 public:
  void when_ready(Master& master) override {
    calls.push_back("when_ready " + std::to_string(master.worker_count()) + " " +
                    master.app_config().get_string("name"));
  }
  void pre_fork(Master&, int worker_id) override {
    throw std::runtime_error("no fork for worker " + std::to_string(worker_id));
  }
  void child_exit(Master& master, pid_t pid, int status) override {
    calls.push_back("child_exit " + std::to_string(pid) + " " + std::to_string(status) + " " +
                    std::to_string(master.pid() == getpid()));
  }
  void on_exit(Master&) override { throw 42; }

  std::vector<std::string> calls;
};

std::unique_ptr<MasterHooks> make_recording() {
  return std::make_unique<Recording>();
}
std::unique_ptr<MasterHooks> make_nothing() {
  return nullptr;
}
std::unique_ptr<MasterHooks> make_throwing() {
  throw std::runtime_error("no hooks today");
}
std::unique_ptr<App> no_app(const AppConfig&) {
  return nullptr;
}

master::Setup so_app(prefork::HooksFactory hooks, bool preload) {
  master::Setup setup;
  setup.app = {no_app, "shop", "lib/libshop.so:shop", hooks, hooks != nullptr};
  setup.config.preload_app = preload;
  return setup;
}

}  // namespace

TEST_CASE("hooks see the master's pid, worker count and [app] table") {
  config::Config config;
  config.app_config.set("name", std::string("shop"));
  Recording hooks;
  master::Hooks caller(&hooks, config, [] { return 3; });
  caller.when_ready();
  caller.child_exit(1234, 9);
  CHECK(hooks.calls == std::vector<std::string>{"when_ready 3 shop", "child_exit 1234 9 1"});
}

TEST_CASE("what a hook throws is logged with the hook's name, and does not escape") {
  CapturedLog captured;
  config::Config config;
  Recording hooks;
  master::Hooks caller(&hooks, config);
  caller.pre_fork(7);
  caller.on_exit();
  caller.when_ready();
  std::string text = captured.text();
  CHECK(text.find("hook pre_fork failed: no fork for worker 7") != std::string::npos);
  CHECK(text.find("hook on_exit failed: an exception that is not a std::exception") !=
        std::string::npos);
  CHECK(hooks.calls == std::vector<std::string>{"when_ready 0 "});
}

TEST_CASE("without hooks every call is a no-op") {
  config::Config config;
  master::Hooks caller(nullptr, config);
  caller.on_starting();
  caller.pre_exec();
  caller.worker_abort(1);
}

TEST_CASE("a linked app uses the hooks passed to run") {
  Recording linked;
  master::Setup setup;
  setup.app = {no_app, "", "", nullptr};
  REQUIRE(master::adopt_hooks(setup, &linked).ok());
  CHECK(setup.hooks == &linked);
}

TEST_CASE("a .so app's hooks are made with preload_app, and only with it") {
  master::Setup preloaded = so_app(make_recording, true);
  REQUIRE(master::adopt_hooks(preloaded, nullptr).ok());
  CHECK(preloaded.hooks != nullptr);
  CHECK(preloaded.hooks == preloaded.loaded_hooks.get());

  CapturedLog captured;
  master::Setup not_preloaded = so_app(make_recording, false);
  REQUIRE(master::adopt_hooks(not_preloaded, nullptr).ok());
  CHECK(not_preloaded.hooks == nullptr);
  CHECK(captured.text().find("hooks of app shop run only with preload_app") != std::string::npos);

  master::Setup without = so_app(nullptr, true);
  REQUIRE(master::adopt_hooks(without, nullptr).ok());
  CHECK(without.hooks == nullptr);
}

TEST_CASE("a hooks factory that fails or makes nothing is an error") {
  master::Setup throwing = so_app(make_throwing, true);
  CHECK(master::adopt_hooks(throwing, nullptr).message() ==
        "preload_app: the hooks factory failed: no hooks today");
  master::Setup empty = so_app(make_nothing, true);
  CHECK(master::adopt_hooks(empty, nullptr).message() ==
        "preload_app: the hooks factory returned nothing");
}
