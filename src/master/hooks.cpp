#include "master/hooks.hpp"

#include <exception>
#include <string>

#include "core/log.hpp"
#include "master/arbiter.hpp"

namespace prefork::master {

template <class Call>
void Hooks::call(const char* name, Call&& invoke) {
  if (!hooks_) return;
  try {
    invoke(*hooks_, view_);
  } catch (const std::exception& error) {
    log::error("hook ", name, " failed: ", error.what());
  } catch (...) {
    log::error("hook ", name, " failed: an exception that is not a std::exception");
  }
}

void Hooks::on_starting() {
  call("on_starting", [](MasterHooks& hooks, Master& master) { hooks.on_starting(master); });
}

void Hooks::when_ready() {
  call("when_ready", [](MasterHooks& hooks, Master& master) { hooks.when_ready(master); });
}

void Hooks::on_reload() {
  call("on_reload", [](MasterHooks& hooks, Master& master) { hooks.on_reload(master); });
}

void Hooks::pre_fork(int worker_id) {
  call("pre_fork",
       [worker_id](MasterHooks& hooks, Master& master) { hooks.pre_fork(master, worker_id); });
}

void Hooks::post_fork(int worker_id) {
  call("post_fork",
       [worker_id](MasterHooks& hooks, Master& master) { hooks.post_fork(master, worker_id); });
}

void Hooks::child_exit(pid_t pid, int status) {
  call("child_exit", [pid, status](MasterHooks& hooks, Master& master) {
    hooks.child_exit(master, pid, status);
  });
}

void Hooks::worker_abort(pid_t pid) {
  call("worker_abort",
       [pid](MasterHooks& hooks, Master& master) { hooks.worker_abort(master, pid); });
}

void Hooks::pre_exec() {
  call("pre_exec", [](MasterHooks& hooks, Master& master) { hooks.pre_exec(master); });
}

void Hooks::on_exit() {
  call("on_exit", [](MasterHooks& hooks, Master& master) { hooks.on_exit(master); });
}

Status adopt_hooks(Setup& setup, MasterHooks* linked_hooks) {
  if (setup.app.name.empty()) {
    setup.hooks = linked_hooks;
    return {};
  }
  if (!setup.config.preload_app) {
    if (setup.app.has_hooks)
      log::warning("hooks of app ", setup.app.name, " run only with preload_app");
    return {};
  }
  if (!setup.app.hooks) return {};
  try {
    setup.loaded_hooks = setup.app.hooks();
  } catch (const std::exception& error) {
    return Status::error(std::string("preload_app: the hooks factory failed: ") + error.what());
  } catch (...) {
    return Status::error("preload_app: the hooks factory failed with an unknown exception");
  }
  if (!setup.loaded_hooks) return Status::error("preload_app: the hooks factory returned nothing");
  setup.hooks = setup.loaded_hooks.get();
  return {};
}

}  // namespace prefork::master
