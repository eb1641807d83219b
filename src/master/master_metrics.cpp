#include "master/master_metrics.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <string>

#include "core/log.hpp"
#include "core/signal_name.hpp"

namespace prefork::master {
namespace {}  // namespace

std::unique_ptr<MasterMetrics> MasterMetrics::start(const config::Config& config, uv_loop_t* loop) {
  if (!config.metrics.enabled) {
    log::info("Metrics: off");
    return nullptr;
  }
  return std::make_unique<MasterMetrics>(config, loop);
}

MasterMetrics::MasterMetrics(const config::Config& config, uv_loop_t* loop)
    : config_(config), loop_(loop), backend_(storage::open_backend(config_, loop)) {
  make_registry();
}

MasterMetrics::~MasterMetrics() {
  shut_down();
}

void MasterMetrics::shut_down() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& waiter : scrape_waiters_) waiter->done(Status::error("the master is stopping"));
  scrape_waiters_.clear();
  backend_->shut_down();
}

void MasterMetrics::make_registry() {
  std::unique_ptr<metrics::ValueStore> store = backend_->master_store();
  master_store_ = store.get();
  registry_ = std::make_unique<metrics::Registry>(std::move(store));
  const std::string& prefix = config_.metrics.prefix;
  restarts_ =
      &registry_->counter(prefix + "_master_worker_restart_total",
                          "Workers restarted, by the reason the old one exited.", {"reason"});
  workers_ =
      &registry_->gauge(prefix + "_master_workers", "Worker processes alive.", {}, "livemax");
  signals_ = &registry_->counter(prefix + "_master_signals_total", "Signals the master handled.",
                                 {"signal"});
}

storage::WorkerPlace MasterMetrics::prepare_worker() {
  return backend_->prepare_worker();
}

void MasterMetrics::worker_forked(pid_t pid) {
  backend_->worker_forked(pid);
}

void MasterMetrics::close_in_worker() {
  master_store_->close_in_child();
  backend_->close_in_child();
}

// The restart is counted once the dead worker's values are stored, so that a scrape never
// sees the restart without the requests the worker answered.
void MasterMetrics::worker_reaped(const ReapedWorker& worker) {
  std::string reason = exit_reason_name(worker.reason);
  backend_->worker_reaped(worker.pid, [this, reason] {
    restarts_->labels({reason}).inc();
    backend_->master_values_changed();
  });
}

void MasterMetrics::signal_handled(int signum) {
  signals_->labels({signal_label(signum)}).inc();
  backend_->master_values_changed();
}

void MasterMetrics::workers_changed(int live) {
  workers_->set(live);
  backend_->master_values_changed();
}

void MasterMetrics::scrape(std::function<void(Result<std::string>)> done) {
  auto waiter = std::make_unique<ScrapeWaiter>();
  waiter->done = std::move(done);
  waiter->deadline = UvTimer(loop_, uv_timer_init);
  waiter->deadline->data = this;
  uv_timer_start(
      waiter->deadline.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<MasterMetrics*>(timer->data);
        for (auto& waiter : self->scrape_waiters_) {
          if (waiter->deadline.get() == timer) return self->scrape_timed_out(waiter.get());
        }
      },
      std::uint64_t(std::max(config_.metrics.scrape_timeout, 0.001) * 1000), 0);
  scrape_waiters_.push_back(std::move(waiter));
  if (scraping_) return;
  scraping_ = true;
  backend_->scrape([this](Result<std::string> text) { scrape_finished(std::move(text)); });
}

void MasterMetrics::scrape_finished(Result<std::string> text) {
  scraping_ = false;
  std::vector<std::unique_ptr<ScrapeWaiter>> waiters = std::move(scrape_waiters_);
  scrape_waiters_.clear();
  for (auto& waiter : waiters) waiter->done(text);
}

void MasterMetrics::scrape_timed_out(ScrapeWaiter* waiter) {
  auto found = std::find_if(scrape_waiters_.begin(), scrape_waiters_.end(),
                            [waiter](const auto& entry) { return entry.get() == waiter; });
  std::unique_ptr<ScrapeWaiter> expired = std::move(*found);
  scrape_waiters_.erase(found);
  expired->done(Status::error("the metrics storage did not answer within " +
                              std::to_string(config_.metrics.scrape_timeout) + " s"));
}

void MasterMetrics::check_health(std::function<void(const storage::Health&)> done) {
  backend_->check_health(std::move(done));
}

}  // namespace prefork::master
