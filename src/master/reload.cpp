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
// Without preload_app the master never opens the app: a probe child loads it first, and the
// reload goes on when the probe is reaped (probe_exited), the loop running meanwhile.
void Arbiter::handle_hup() {
  if (stopping_) return;
  log::info("Hang up: Master");
  if (pending_reload_) {
    hup_again_ = true;
    return;
  }
  setup_.notifier.reloading();
  config::LoadResult loaded = reload_config();
  if (!loaded.config) return reload_finished(Status::error(loaded.message));
  config::Config& config = *loaded.config;
  // raw_env is in place before the app is loaded, as at start; reload_finished undoes it.
  setup_.environment.apply(config.raw_env);
  if (!config.app.empty() && !config.preload_app) return probe_app(std::move(config));
  app::LoadOutcome resolved = app::resolve(config.app, setup_.linked_factory);
  if (!resolved.ok()) return reload_finished(resolved.status);
  reload_finished(replace_workers(std::move(config), resolved.app));
}

void Arbiter::probe_app(config::Config config) {
  std::string title = probe_title(config.proc_name);
  Result<app::Probe> probe = app::Probe::start(
      config.app, app::probe_time_limit, [&] { return become_app_probe(setup_.identity, title); });
  if (!probe) return reload_finished(probe.status());
  pending_reload_.emplace(PendingReload{std::move(*probe), std::move(config)});
}

Status become_app_probe(const Identity& identity, std::string_view title) {
  reset_signal_dispositions();
  set_process_title(title);
  return drop_privileges(identity);
}

void Arbiter::probe_exited(int status) {
  app::LoadOutcome loaded = pending_reload_->probe.outcome(status);
  config::Config config = std::move(pending_reload_->config);
  pending_reload_.reset();
  if (stopping_) return;
  if (!loaded.ok()) return reload_finished(loaded.status);
  reload_finished(replace_workers(std::move(config), loaded.app));
}

void Arbiter::check_probe_time() {
  if (pending_reload_ && pending_reload_->probe.kill_if_overdue()) {
    log::warning("App probe (pid:", pending_reload_->probe.pid(),
                 ") did not load the app in time: sending SIGKILL");
  }
}

// Stopping: the probe's verdict no longer matters.
void Arbiter::cancel_reload() {
  if (pending_reload_) kill(pending_reload_->probe.pid(), SIGKILL);
  hup_again_ = false;
}

Status Arbiter::replace_workers(config::Config config, const app::LoadedApp& app) {
  if (Status applied = apply_reloaded_config(std::move(config), app); !applied.ok()) return applied;
  if (reload_hook_) reload_hook_(setup_.tls);
  hooks_.on_reload();
  for (auto& [pid, worker] : workers_) worker.retiring = true;
  spawn_missing_workers();
  for (auto& [pid, worker] : workers_) {
    if (worker.retiring) retire(worker, SIGTERM, setup_.config.graceful_timeout);
  }
  watch_for_reload();
  return {};
}

// Every HUP ends here, applied (outcome ok) or failed.
void Arbiter::reload_finished(const Status& outcome) {
  if (!outcome.ok()) {
    log::error("Reload failed, keeping the running configuration: ", outcome.message());
    setup_.environment.apply(setup_.config.raw_env);
    setup_.notifier.reload_failed(outcome.message());
  }
  if (hup_again_) {
    hup_again_ = false;
    handle_hup();
  }
}

// --reload: the app's .so and reload_extra_files, as the running configuration names them.
void Arbiter::watch_for_reload() {
  const config::Config& config = setup_.config;
  std::vector<std::string> files;
  if (config.reload) {
    if (!config.app.empty()) files.push_back(config.app.substr(0, config.app.rfind(':')));
    files.insert(files.end(), config.reload_extra_files.begin(), config.reload_extra_files.end());
    if (files.empty())
      log::warning(
          "reload: nothing to watch: the app is linked in and reload_extra_files is empty");
  }
  if (!reload_watch_) {
    if (files.empty()) return;
    reload_watch_ = std::make_unique<ReloadWatch>(&loop_, [this] { handle_hup(); });
  }
  reload_watch_->watch(files);
}

// Everything that can fail is checked before anything changes.
Status Arbiter::apply_reloaded_config(config::Config config, const app::LoadedApp& app) {
  std::unique_ptr<App> preloaded;
  if (config.preload_app) {
    Result<std::unique_ptr<App>> made = app::make(app, config.app_config);
    if (!made) return made.status();
    preloaded = std::move(made).value();
  }
  log::Level level;
  if (!log::parse_level(config.loglevel, level))
    return Status::error("loglevel \"" + config.loglevel + "\" is not a level");
  log::Format format;
  if (!log::parse_format(config.log_format, format))
    return Status::error("log_format \"" + config.log_format + "\" is not a format");
  if (config.errorlog != setup_.config.errorlog && !log::open(config.errorlog))
    return Status::error("cannot open errorlog " + config.errorlog);
  if (!same_binds(config, setup_.config)) {
    log::warning("bind changes take effect on restart; still listening on the old addresses");
    config.binds = setup_.config.binds;
  }
  // Read again even when the paths are the same: a rotated certificate is picked up.
  Result<TlsContexts> tls = load_tls(config);
  if (!tls) return tls.status();
  if (!tls->app && serves_tls(setup_.listeners)) {
    return Status::error(
        "the https listeners need certfile (TLS changes of binds take effect on restart)");
  }
  log::set_level(level);
  log::set_format(format);
  set_process_title(current_title(config));
  setup_.config = std::move(config);
  setup_.app = app;
  setup_.tls = std::move(*tls);
  setup_.preloaded_app = std::move(preloaded);
  target_workers_ = setup_.config.workers;
  return {};
}

}  // namespace prefork::master
