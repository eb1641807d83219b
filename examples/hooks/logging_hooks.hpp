// The hooks example: every master hook writes one line to stderr ("[hooks] pre_fork worker=1").
// `[app] throw_in = "<hook>"` makes that hook throw, to show that the master logs it and serves
// on.
#pragma once

#include <sys/wait.h>
#include <unistd.h>
#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace prefork::examples {

class LoggingHooks : public MasterHooks {
 public:
  void on_starting(Master& master) override {
    say(master, "on_starting", "master=" + std::to_string(master.pid()));
  }
  void when_ready(Master& master) override {
    say(master, "when_ready", "master=" + std::to_string(master.pid()));
  }
  void on_reload(Master& master) override {
    say(master, "on_reload", "workers=" + std::to_string(master.worker_count()));
  }
  void pre_fork(Master& master, int worker_id) override {
    say(master, "pre_fork", "worker=" + std::to_string(worker_id));
  }
  void post_fork(Master& master, int worker_id) override {
    say(master, "post_fork",
        "worker=" + std::to_string(worker_id) + " pid=" + std::to_string(getpid()));
  }
  void child_exit(Master& master, pid_t pid, int status) override {
    say(master, "child_exit", "pid=" + std::to_string(pid) + " " + describe(status));
  }
  void worker_abort(Master& master, pid_t pid) override {
    say(master, "worker_abort", "pid=" + std::to_string(pid));
  }
  void pre_exec(Master& master) override {
    say(master, "pre_exec", "master=" + std::to_string(master.pid()));
  }
  void on_exit(Master& master) override {
    say(master, "on_exit", "master=" + std::to_string(master.pid()));
  }

 private:
  static void say(Master& master, std::string_view hook, const std::string& details) {
    if (master.app_config().get_string("throw_in") == hook)
      throw std::runtime_error("[app] throw_in asked this hook to throw");
    std::string line = "[hooks] " + std::string(hook) + " " + details + "\n";
    // One write per line, so that lines of the master and its workers never interleave.
    [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  }

  static std::string describe(int status) {
    if (WIFSIGNALED(status)) return "signal=" + std::to_string(WTERMSIG(status));
    return "code=" + std::to_string(WEXITSTATUS(status));
  }
};

// The app beside the hooks: "/" answers; "/stall" blocks the worker's loop for a minute, so that
// the master's timeout aborts it (worker_abort).
class HooksApp : public SyncApp {
 public:
  Response respond(const Request& request) override {
    if (request.path() == "/stall") std::this_thread::sleep_for(std::chrono::minutes(1));
    return Response::view(200, "text/plain; charset=utf-8", "Hello from the hooks example\n");
  }

  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<HooksApp>(); }
};

}  // namespace prefork::examples
