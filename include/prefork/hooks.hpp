// Master hooks: optional callbacks into the app's code at points of the master's life, as
// gunicorn's server hooks. They run only where the master has the app's code: a program linked
// with prefork::run, or a .so app with preload_app.
#pragma once

#include <sys/types.h>
#include <prefork/app.hpp>

#include <cstdint>
#include <memory>

namespace prefork {

// What a hook sees of the master; implemented by prefork.
class Master {
 public:
  virtual pid_t pid() const = 0;
  // Workers running and not asked to stop.
  virtual int worker_count() const = 0;
  // The [app] table of the configuration in force (a HUP may change it).
  virtual const AppConfig& app_config() const = 0;

 protected:
  ~Master() = default;
};

// Every member is optional. All run in the master, on its loop, except post_fork, which runs in
// the new worker. An exception a hook throws is logged ("hook <name> failed: …") and the master
// carries on: a hook never stops the master.
class MasterHooks {
 public:
  virtual ~MasterHooks() = default;
  // At start, before the listeners are bound.
  virtual void on_starting(Master&) {}
  // The listeners are bound; no worker is forked yet.
  virtual void when_ready(Master&) {}
  // A HUP applied a new configuration; its workers are not forked yet.
  virtual void on_reload(Master&) {}
  // In the master, just before it forks the worker numbered worker_id (Worker::id()).
  virtual void pre_fork(Master&, int /*worker_id*/) {}
  // In the new worker, just after fork, before the app is made.
  virtual void post_fork(Master&, int /*worker_id*/) {}
  // After the master reaped a worker; status as waitpid() gives it.
  virtual void child_exit(Master&, pid_t /*pid*/, int /*status*/) {}
  // In the master, before it sends SIGABRT to a worker that missed its heartbeat (timeout).
  // Unlike gunicorn's worker_abort, which runs in the worker from its SIGABRT handler.
  virtual void worker_abort(Master&, pid_t /*pid*/) {}
  // In the master, before it forks the new master of a binary upgrade (USR2).
  virtual void pre_exec(Master&) {}
  // The master has stopped its workers and is about to exit.
  virtual void on_exit(Master&) {}
};

using HooksFactory = std::unique_ptr<MasterHooks> (*)();

struct HooksDescriptor {
  std::uint32_t abi_version;
  HooksFactory make;
};

// Runs prefork with an app and its hooks linked into the program; hooks must outlive the call.
int run(int argc, char** argv, AppFactory factory, MasterHooks& hooks);

}  // namespace prefork

// Exports hooks from a .so app, beside PREFORK_APP(name, …) with the same name: the master
// finds the symbol prefork_hooks_<name> when it loads the app with preload_app.
#define PREFORK_HOOKS(name, Class)                                                            \
  extern "C" __attribute__((visibility("default")))                                           \
  const ::prefork::HooksDescriptor prefork_hooks_##name {                                     \
    ::prefork::abi_version,                                                                   \
        []() -> std::unique_ptr<::prefork::MasterHooks> { return std::make_unique<Class>(); } \
  }
