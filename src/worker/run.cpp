#include "worker/run.hpp"

#include <unistd.h>

#include <csignal>
#include <exception>
#include <memory>

#include "app/loader.hpp"
#include "core/log.hpp"
#include "metrics/memory_store.hpp"
#include "storage/backend.hpp"
#include "worker/access_log.hpp"
#include "worker/observers.hpp"
#include "worker/server.hpp"
#include "worker/worker_metrics.hpp"

namespace prefork::worker {
namespace {

// INT and QUIT must not wait, not even for a handler that blocks the loop: exit from the
// signal handler itself (_exit is async-signal-safe).
void quit_now(int) {
  _exit(exit_ok);
}

void install_signal_dispositions() {
  struct sigaction action = {};
  action.sa_handler = quit_now;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGQUIT, &action, nullptr);
  // A client that hangs up must not kill the worker mid-write.
  signal(SIGPIPE, SIG_IGN);
}

// The master's factory, or the .so opened here: after fork, so that each generation of workers
// loads the file at the spec's path as it is now.
Result<std::unique_ptr<App>> make_app(const Boot& boot) {
  app::LoadedApp loaded{boot.factory, "", boot.app_spec};
  if (!loaded.factory && !boot.app_spec.empty()) {
    app::LoadOutcome opened = app::open_app(boot.app_spec);
    if (!opened.ok()) return opened.status;
    loaded = opened.app;
  }
  if (!loaded.factory) return Status::error("neither a preloaded app nor a factory");
  return app::make(loaded, boot.config->app_config);
}

}  // namespace

int run(const Boot& boot) {
  install_signal_dispositions();
  std::unique_ptr<App> owned;
  App* app = boot.preloaded_app;
  if (!app) {
    Result<std::unique_ptr<App>> made = make_app(boot);
    if (!made) {
      log::critical("worker ", boot.id, " failed to boot: ", made.message());
      return exit_boot_error;
    }
    owned = std::move(made).value();
    app = owned.get();
  }

  Server server(boot, *app);
  if (!server.listen()) return exit_boot_error;
  std::unique_ptr<WorkerMetrics> metrics;
  std::unique_ptr<metrics::Registry> unexported;
  try {
    metrics = WorkerMetrics::start(boot, server.loop());
  } catch (const std::exception& error) {
    log::critical("worker ", boot.id, " failed to boot: metrics storage: ", error.what());
    return exit_boot_error;
  }
  std::unique_ptr<AccessLog> access_log;
  try {
    access_log = AccessLog::start(*boot.config, server.loop());
  } catch (const std::exception& error) {
    log::critical("worker ", boot.id, " failed to boot: ", error.what());
    return exit_boot_error;
  }
  ObserverList observers;
  if (metrics) observers.add(metrics->observer());
  if (access_log) observers.add(*access_log);
  server.observe_with(observers.entry());
  if (metrics) {
    server.use_metrics(metrics->registry());
    server.count_accept_errors_in(metrics->builtin().accept_errors());
    server.count_tls_failures_in(metrics->builtin());
  } else {
    unexported = std::make_unique<metrics::Registry>(
        std::make_unique<metrics::MemoryStore>(storage::process_name(*boot.config, getpid())));
    server.use_metrics(*unexported);
  }
  try {
    app->on_worker_start(server);
  } catch (const std::exception& error) {
    log::critical("worker ", boot.id, " failed to boot: on_worker_start threw: ", error.what());
    return exit_boot_error;
  }
  log::info("Booting worker with pid: ", getpid());
  server.serve();
  try {
    app->on_worker_stop(server);
  } catch (const std::exception& error) {
    log::error("on_worker_stop threw: ", error.what());
  }
  if (metrics) metrics->stop();
  server.observe_with(nullptr);
  // Their handles are closed before the server closes whatever is left on the loop; the access
  // log writes its last lines.
  metrics.reset();
  access_log.reset();
  server.shut_down();
  return exit_ok;
}

}  // namespace prefork::worker
