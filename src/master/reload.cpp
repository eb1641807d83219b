#include <csignal>

#include "core/exit_codes.hpp"
#include "core/log.hpp"
#include "master/arbiter.hpp"
#include "master/process_title.hpp"

namespace prefork::master {
namespace {

bool same_binds(const config::Config& a, const config::Config& b) {
  if (a.binds.size() != b.binds.size()) return false;
  for (std::size_t i = 0; i < a.binds.size(); ++i) {
    if (a.binds[i].text != b.binds[i].text) return false;
  }
  return true;
}

bool serves_tls(const Listeners& listeners) {
  for (const Listener& listener : listeners.all()) {
    if (listener.tls) return true;
  }
  return false;
}

}  // namespace

// Loading reports a bad file as a message; anything it throws (an allocation for a huge file)
// must not end a master that serves with the running configuration.
config::LoadResult Arbiter::reload_config() const {
  try {
    return config::reload(setup_.config, setup_.argc, setup_.argv, setup_.envp);
  } catch (const std::exception& error) {
    return {std::nullopt, error.what(), exit_usage};
  }
}

// gunicorn's reload: new config, a full set of new workers, then the old ones stop gracefully.
void Arbiter::handle_hup() {
  if (stopping_) return;
  log::info("Hang up: Master");
  config::LoadResult loaded = reload_config();
  if (!loaded.config) {
    log::error("Reload failed, keeping the running configuration: ", loaded.message);
    return;
  }
  if (!apply_reloaded_config(std::move(*loaded.config))) return;
  if (reload_hook_) reload_hook_(setup_.tls);
  for (auto& [pid, worker] : workers_) worker.retiring = true;
  spawn_missing_workers();
  for (auto& [pid, worker] : workers_) {
    if (worker.retiring) retire(worker, SIGTERM, setup_.config.graceful_timeout);
  }
}

// Everything that can fail is checked before anything changes.
bool Arbiter::apply_reloaded_config(config::Config config) {
  app::LoadOutcome resolved = app::resolve(config.app, setup_.linked_factory);
  if (!resolved.ok()) {
    log::error("Reload failed, keeping the running configuration: ", resolved.status.message());
    return false;
  }
  std::unique_ptr<App> preloaded;
  if (config.preload_app) {
    Result<std::unique_ptr<App>> made = app::make(resolved.app, config.app_config);
    if (!made) {
      log::error("Reload failed, keeping the running configuration: ", made.message());
      return false;
    }
    preloaded = std::move(made).value();
  }
  log::Level level;
  if (!log::parse_level(config.loglevel, level)) {
    log::error("Reload failed, keeping the running configuration: loglevel \"", config.loglevel,
               "\" is not a level");
    return false;
  }
  if (config.errorlog != setup_.config.errorlog && !log::open(config.errorlog)) {
    log::error("Reload failed, keeping the running configuration: cannot open errorlog ",
               config.errorlog);
    return false;
  }
  if (!same_binds(config, setup_.config)) {
    log::warning("bind changes take effect on restart; still listening on the old addresses");
    config.binds = setup_.config.binds;
  }
  // Read again even when the paths are the same: a rotated certificate is picked up.
  Result<TlsContexts> tls = load_tls(config);
  if (!tls) {
    log::error("Reload failed, keeping the running configuration: ", tls.message());
    return false;
  }
  if (!tls->app && serves_tls(setup_.listeners)) {
    log::error(
        "Reload failed, keeping the running configuration: the https listeners need "
        "certfile (TLS changes of binds take effect on restart)");
    return false;
  }
  log::set_level(level);
  set_process_title(current_title(config));
  setup_.config = std::move(config);
  setup_.app = resolved.app;
  setup_.tls = std::move(*tls);
  setup_.preloaded_app = std::move(preloaded);
  target_workers_ = setup_.config.workers;
  return true;
}

}  // namespace prefork::master
