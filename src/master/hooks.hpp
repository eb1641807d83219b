// The app's master hooks (include/prefork/hooks.hpp) as the master calls them: each call
// guarded, so that what a hook throws is logged and never ends the master.
#pragma once

#include <sys/types.h>
#include <unistd.h>
#include <prefork/hooks.hpp>

#include <functional>

#include "config/config.hpp"
#include "core/result.hpp"

namespace prefork::master {

struct Setup;

// prefork::Master as hooks see it.
class MasterView final : public Master {
 public:
  // config must outlive the view; active_workers is empty before the arbiter has workers.
  MasterView(const config::Config& config, std::function<int()> active_workers)
      : config_(&config), active_workers_(std::move(active_workers)) {}

  pid_t pid() const override { return pid_; }
  int worker_count() const override { return active_workers_ ? active_workers_() : 0; }
  const AppConfig& app_config() const override { return config_->app_config; }

 private:
  pid_t pid_ = getpid();  // the master's, also when post_fork asks in the worker
  const config::Config* config_;
  std::function<int()> active_workers_;
};

// One method per hook; each is a no-op without hooks.
class Hooks {
 public:
  Hooks(MasterHooks* hooks, const config::Config& config, std::function<int()> active_workers = {})
      : hooks_(hooks), view_(config, std::move(active_workers)) {}

  void on_starting();
  void when_ready();
  void on_reload();
  void pre_fork(int worker_id);
  void post_fork(int worker_id);
  void child_exit(pid_t pid, int status);
  void worker_abort(pid_t pid);
  void pre_exec();
  void on_exit();

 private:
  template <class Call>
  void call(const char* name, Call&& invoke);

  MasterHooks* hooks_;
  MasterView view_;
};

// Picks the hooks of the app in use: those passed to prefork::run for the linked app, those a
// .so exports (PREFORK_HOOKS) when the master preloads it. A .so's hooks without preload_app
// cannot run in the master (it does not keep the code), which is logged as a warning.
Status adopt_hooks(Setup& setup, MasterHooks* linked_hooks);

}  // namespace prefork::master
