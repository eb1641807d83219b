// prefork::run: from the command line to a running master.
#include <unistd.h>
#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/loader.hpp"
#include "app/probe.hpp"
#include "config/config.hpp"
#include "core/exit_codes.hpp"
#include "core/log.hpp"
#include "master/arbiter.hpp"
#include "master/daemonize.hpp"
#include "master/hooks.hpp"
#include "master/master_metrics.hpp"
#include "master/metrics_endpoint.hpp"
#include "master/metrics_only.hpp"
#include "master/pidfile.hpp"
#include "master/process_title.hpp"
#include "master/tls_setup.hpp"
#include "worker/access_log.hpp"

namespace prefork {
namespace {

// argv or environ as they were at start, kept for reloads: the process title overwrites the
// original argv strings, and raw_env changes the environment, which must not feed the config's
// environment layer.
class StringList {
 public:
  StringList(char* const* first, char* const* last) : strings_(first, last) {
    for (std::string& text : strings_) pointers_.push_back(text.c_str());
    pointers_.push_back(nullptr);
  }
  int size() const { return int(strings_.size()); }
  const char* const* data() const { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<const char*> pointers_;
};

std::string current_directory() {
  std::vector<char> path(4096);
  while (!::getcwd(path.data(), path.size())) {
    if (errno != ERANGE) return "";
    path.resize(path.size() * 2);
  }
  return path.data();
}

int fail(int code, const std::string& message) {
  log::error(message);
  return code;
}

int configuration_ok(const config::Config& config) {
  std::printf("%s: configuration OK\n",
              config.config_file.empty() ? "prefork" : config.config_file.c_str());
  return exit_ok;
}

int print_and_exit(const config::LoadResult& loaded) {
  std::FILE* stream = loaded.exit_code == 0 ? stdout : stderr;
  std::fputs(loaded.message.c_str(), stream);
  if (!loaded.message.empty() && loaded.message.back() != '\n') std::fputc('\n', stream);
  return loaded.exit_code;
}

Status setup_logging(const config::Config& config) {
  log::Level level;
  if (!log::parse_level(config.loglevel, level))
    return Status::error("loglevel \"" + config.loglevel +
                         "\": expected debug, info, warning, error or critical");
  log::set_level(level);
  log::Format format;
  if (!log::parse_format(config.log_format, format))
    return Status::error("log_format \"" + config.log_format + "\": expected text or json");
  log::set_format(format);
  if (!log::open(config.errorlog))
    return Status::error("errorlog " + config.errorlog + ": cannot open");
  // Workers open the access log themselves; a bad path or format stops the master here rather
  // than every worker at boot.
  return worker::check_access_log(config);
}

// environ is null after clearenv().
char* const* end_of(char* const* strings) {
  while (strings && *strings) ++strings;
  return strings;
}

// A master started by USR2 serves on the old master's sockets whatever its binds say.
Status check_inherited(const master::Setup& setup, const master::Listeners& listeners) {
  log::info("Inherited ", listeners.all().size(), " listening sockets from the old master (pid ",
            setup.inheritance.master_pid, "); bind changes take effect on restart");
  for (const master::Listener& listener : listeners.all()) {
    if (listener.tls && !setup.tls.app)
      return Status::error("the inherited https listener " + listener.url() + " needs certfile");
  }
  return {};
}

// The metrics endpoint takes the old master's socket after USR2: binding its port again would
// fail while the old master holds it. So a changed metrics.port or bind_address waits for a
// restart, as the binds do.
Status start_endpoint(master::MetricsEndpoint& endpoint, const master::Inheritance& inheritance) {
  if (inheritance.metrics_fd < 0) return endpoint.listen();
  log::info("Inherited the metrics socket from the old master (pid ", inheritance.master_pid,
            "); metrics address changes take effect on restart");
  return endpoint.listen_on(inheritance.metrics_fd);
}

// Before on_starting, as gunicorn does: the hook's master.pid() is the daemon's, and threads it
// starts live in the daemon (fork keeps only the calling thread). Before binding too: the daemon
// keeps stderr on the terminal until serving(), so a bind error still reaches it, and the
// launching process exits 1. A master re-executed by USR2 stays the old master's child, as
// gunicorn's does.
Status detach_if_asked(const master::Setup& setup, std::optional<master::Daemon>& daemon) {
  if (!setup.config.daemon || setup.inheritance.from_upgrade()) return {};
  Result<master::Daemon> detached = master::Daemon::detach(setup.config);
  if (!detached) return detached.status();
  daemon.emplace(std::move(detached).value());
  return {};
}

// The pidfile exists before "Listening at", the line supervisors and tests wait for.
Status announce_listeners(master::Setup& setup, const master::Listeners& listeners,
                          const std::string& pidfile_path) {
  if (!pidfile_path.empty()) {
    if (Status created = setup.pidfile.create(pidfile_path); !created.ok()) return created;
  }
  for (const master::Listener& listener : listeners.all())
    log::info("Listening at: ", listener.url(), " (", getpid(), ")");
  log::info("Using worker: ", setup.config.worker_class);
  return {};
}

// On the master's loop, after the workers' listeners: workers never keep this socket.
// Serving the application matters more than serving its metrics: a taken port is logged and the
// master runs on without the endpoint.
void serve_metrics(master::Arbiter& arbiter, master::MasterMetrics& metrics,
                   std::optional<master::MetricsEndpoint>& endpoint,
                   const master::Inheritance& inheritance,
                   std::shared_ptr<const net::tls::ServerContext> tls) {
  endpoint.emplace(arbiter.loop(), metrics.config(), metrics.gate(), std::move(tls));
  endpoint->count_tls_failures_with(
      [&metrics](net::tls::Failure failure) { metrics.count_tls_failure(failure); });
  arbiter.on_reload([&endpoint](const master::TlsContexts& tls) {
    if (endpoint) endpoint->use_tls(tls.metrics);
  });
  if (Status listening = start_endpoint(*endpoint, inheritance); !listening.ok()) {
    log::error(listening.message(), ": metrics are recorded but not served");
    endpoint.reset();
  } else {
    arbiter.set_metrics_socket(endpoint->fd());
  }
}

// The arbiter, its metrics and their endpoint, until the master exits.
int run_arbiter(master::Setup setup, std::optional<master::Daemon>& daemon) {
  config::Config config = setup.config;
  master::Inheritance inheritance = setup.inheritance;
  std::shared_ptr<const net::tls::ServerContext> metrics_tls = setup.tls.metrics;
  master::set_process_title(master::master_title(config.proc_name));
  master::Arbiter arbiter(std::move(setup));
  std::unique_ptr<master::MasterMetrics> metrics;
  try {
    metrics = master::MasterMetrics::start(config, arbiter.loop());
  } catch (const std::exception& error) {
    return fail(exit_startup, std::string("metrics: ") + error.what());
  }
  std::optional<master::MetricsEndpoint> endpoint;
  if (metrics) {
    arbiter.set_reap_observer(metrics.get());
    serve_metrics(arbiter, *metrics, endpoint, inheritance, std::move(metrics_tls));
  } else if (inheritance.metrics_fd >= 0) {
    ::close(inheritance.metrics_fd);
  }
  if (daemon) daemon->serving();
  return arbiter.run();
}

int serve(master::Setup setup, const std::string& pidfile_path) {
  log::info("Starting prefork ", version);
  master::hold_master_signals();
  std::optional<master::Daemon> daemon;
  if (Status detached = detach_if_asked(setup, daemon); !detached)
    return fail(exit_startup, detached.message());
  master::Hooks(setup.hooks, setup.config).on_starting();
  master::BindOutcome bound = master::bind_listeners(setup.config, setup.inheritance.listeners);
  if (!bound.status) return fail(exit_startup, bound.status.message());
  if (setup.inheritance.from_upgrade()) {
    if (Status usable = check_inherited(setup, bound.listeners); !usable)
      return fail(exit_usage, usable.message());
  }
  if (Status announced = announce_listeners(setup, bound.listeners, pidfile_path); !announced)
    return fail(exit_startup, announced.message());
  setup.listeners = std::move(bound.listeners);
  return run_arbiter(std::move(setup), daemon);
}

// Logging, the working directory, raw_env and the TLS contexts, which --check-config and
// `prefork metrics` need too; nullopt when start-up goes on, else the exit code.
std::optional<int> prepare_master(master::Setup& setup) {
  const config::Config& config = setup.config;
  if (Status logging = setup_logging(config); !logging.ok())
    return fail(exit_usage, logging.message());
  setup.start_cwd = current_directory();
  if (!config.chdir.empty() && ::chdir(config.chdir.c_str()) != 0)
    return fail(exit_usage, "chdir " + config.chdir + ": " + std::strerror(errno));
  // Before the certificates and the app are read, and before fork: all may use the environment.
  setup.environment.apply(config.raw_env);
  // Certificates and keys are read here, before fork, for --check-config too.
  Result<master::TlsContexts> tls = master::load_tls(config);
  if (!tls) return fail(exit_usage, tls.message());
  setup.tls = std::move(*tls);
  return std::nullopt;
}

int run_metrics_only(const master::Setup& setup) {
  const config::Config& config = setup.config;
  if (!config.metrics.enabled)
    return fail(exit_usage, "--metrics-only: metrics are off (metrics.enabled): nothing to serve");
  if (config.daemon && !config.check_only)
    log::warning("--metrics-only does not detach (daemon): run it under a supervisor");
  return config.check_only ? configuration_ok(config)
                           : master::serve_metrics_only(config, setup.tls.metrics);
}

// What a worker will run as, and whether it can load the app; nullopt when it can.
std::optional<int> check_app(master::Setup& setup, AppFactory factory) {
  const config::Config& config = setup.config;
  // Before the app is loaded: neither it nor the workers see systemd's variables.
  setup.notifier = master::Notifier::from_environment();
  Result<master::Identity> identity = master::resolve_identity(config);
  if (!identity) return fail(exit_usage, identity.message());
  setup.identity = std::move(*identity);
  // Without preload_app the master never maps the app (app/loader.hpp): a probe loads it as a
  // worker would, and workers open the .so.
  std::string probe_title = master::probe_title(config.proc_name);
  app::LoadOutcome resolved = config.preload_app || config.check_only
                                  ? app::resolve(config.app, factory)
                                  : app::check_in_child(config.app, factory, [&] {
                                      return master::become_app_probe(setup.identity, probe_title);
                                    });
  if (!resolved.ok())
    return fail(resolved.not_configured ? exit_usage : exit_boot_error, resolved.status.message());
  setup.app = resolved.app;
  return std::nullopt;
}

// preload_app's app and the master hooks; nullopt when both are there.
std::optional<int> load_app_and_hooks(master::Setup& setup, MasterHooks* hooks) {
  if (setup.config.preload_app) {
    Result<std::unique_ptr<App>> made = app::make(setup.app, setup.config.app_config);
    if (!made) return fail(exit_boot_error, "preload_app: " + made.message());
    setup.preloaded_app = std::move(made).value();
  }
  if (Status adopted = master::adopt_hooks(setup, hooks); !adopted.ok())
    return fail(exit_boot_error, adopted.message());
  return std::nullopt;
}

int run_master(int argc, char** argv, AppFactory factory, MasterHooks* hooks) {
  StringList command_line(argv, argv + argc);
  StringList environment(environ, end_of(environ));
  master::claim_process_title_memory(argc, argv);
  // Out of the environment before anything reads or inherits it.
  Result<master::Inheritance> inheritance = master::take_inheritance();
  if (!inheritance) return fail(exit_startup, inheritance.message());
  config::LoadResult loaded = config::load(command_line.size(), command_line.data(), environ);
  if (!loaded.config) return print_and_exit(loaded);
  if (loaded.config->print_config) {
    std::fputs(config::printed(*loaded.config).c_str(), stdout);
    return exit_ok;
  }
  master::Setup setup;
  setup.config = std::move(*loaded.config);
  setup.inheritance = std::move(*inheritance);
  if (std::optional<int> stopped = prepare_master(setup)) return *stopped;
  if (setup.config.metrics_only) return run_metrics_only(setup);
  if (std::optional<int> stopped = check_app(setup, factory)) return *stopped;
  if (setup.config.check_only) return configuration_ok(setup.config);
  if (std::optional<int> stopped = load_app_and_hooks(setup, hooks)) return *stopped;
  setup.argc = command_line.size();
  setup.argv = command_line.data();
  setup.envp = environment.data();
  setup.linked_factory = factory;
  std::string pidfile_path = setup.config.pidfile;
  return serve(std::move(setup), pidfile_path);
}

}  // namespace

int run(int argc, char** argv, AppFactory factory) {
  return run_master(argc, argv, factory, nullptr);
}

int run(int argc, char** argv, AppFactory factory, MasterHooks& hooks) {
  return run_master(argc, argv, factory, &hooks);
}

}  // namespace prefork
