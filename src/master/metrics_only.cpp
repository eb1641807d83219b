#include "master/metrics_only.hpp"

#include <uv.h>
#include <prefork/version.hpp>

#include <array>
#include <csignal>
#include <memory>

#include "core/exit_codes.hpp"
#include "core/log.hpp"
#include "core/loop.hpp"
#include "core/signal_name.hpp"
#include "core/uv_handle.hpp"
#include "master/metrics_endpoint.hpp"
#include "master/pidfile.hpp"
#include "master/process_title.hpp"
#include "master/scrape_gate.hpp"
#include "storage/backend.hpp"

namespace prefork::master {
namespace {

constexpr std::array<int, 5> handled_signals = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP};

using SignalHandles = std::array<UvHandle<uv_signal_t>, handled_signals.size()>;

// HUP reopens the log as USR1 does: there are no workers to replace, and a setting changed in
// the file takes a restart (said, so that nobody waits for it to apply).
void on_signal(uv_signal_t* handle, int signum) {
  log::info("Handling signal: ", signal_label(signum));
  if (signum == SIGHUP) log::info("Metrics only: settings apply at the next start");
  if (signum == SIGUSR1 || signum == SIGHUP) return log::reopen();
  uv_stop(handle->loop);
}

SignalHandles handle_signals(uv_loop_t* loop) {
  // A write to a scraper that left must fail with EPIPE, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  SignalHandles handles;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    handles[i] = UvHandle<uv_signal_t>(loop, uv_signal_init);
    uv_signal_start(handles[i].get(), on_signal, handled_signals[i]);
  }
  return handles;
}

int serve_on(uv_loop_t* loop, const config::Config& config,
             std::shared_ptr<const net::tls::ServerContext> tls) {
  SignalHandles signals = handle_signals(loop);
  Result<std::unique_ptr<storage::Reader>> opened = storage::open_reader(config, loop);
  if (!opened) {
    log::error("metrics: ", opened.message());
    return exit_usage;
  }
  storage::Reader& reader = **opened;
  ScrapeGate gate(loop, reader, config.metrics.scrape_timeout);
  MetricsEndpoint endpoint(loop, config, gate, std::move(tls));
  // Serving metrics is all this process does: an endpoint that cannot listen stops it.
  if (Status listening = endpoint.listen(); !listening.ok()) {
    log::error(listening.message());
    return exit_startup;
  }
  Pidfile pidfile;
  if (!config.pidfile.empty()) {
    if (Status created = pidfile.create(config.pidfile); !created.ok()) {
      log::error(created.message());
      return exit_startup;
    }
  }
  set_process_title(metrics_title(config.proc_name));
  uv_run(loop, UV_RUN_DEFAULT);
  log::info("Shutting down: metrics only");
  gate.close();
  reader.shut_down();
  return exit_ok;
}

}  // namespace

int serve_metrics_only(const config::Config& config,
                       std::shared_ptr<const net::tls::ServerContext> tls) {
  log::info("Starting prefork ", version, ": metrics only, no workers");
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = serve_on(&loop, config, std::move(tls));
  close_all_handles(&loop);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return code;
}

}  // namespace prefork::master
