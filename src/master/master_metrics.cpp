#include "master/master_metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "metrics/exposition.hpp"
#include "metrics/slot.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"
#include "storage/redis/keys.hpp"

namespace prefork::master {
namespace {

// How long a dead worker's flush or cleanup waits before it is tried again (Redis down).
constexpr unsigned retry_ms = 1000;

std::string make_private_directory() {
  char pattern[] = "/tmp/prefork-metrics-XXXXXX";
  if (!::mkdtemp(pattern)) return {};
  return pattern;
}

void remove_directory(const std::string& path) {
  if (DIR* directory = ::opendir(path.c_str())) {
    while (dirent* entry = ::readdir(directory)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") ::unlink((path + "/" + name).c_str());
    }
    ::closedir(directory);
  }
  ::rmdir(path.c_str());
}

std::string signal_label(int signum) {
  const char* name = sigabbrev_np(signum);
  if (!name) return std::to_string(signum);
  std::string text = name;
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::unique_ptr<MasterMetrics> MasterMetrics::start(const config::Config& config, uv_loop_t* loop) {
  if (!config.metrics.enabled) {
    log::info("Metrics: off");
    return nullptr;
  }
  return std::make_unique<MasterMetrics>(config, loop);
}

MasterMetrics::MasterMetrics(const config::Config& config, uv_loop_t* loop)
    : config_(config), loop_(loop), lane_(loop, retry_ms) {
  choose_storage();
  make_registry();
  if (storage_ == StorageKind::redis) start_refreshing();
}

void MasterMetrics::start_refreshing() {
  refresh_timer_ = new uv_timer_t;
  uv_timer_init(loop_, refresh_timer_);
  refresh_timer_->data = this;
  std::uint64_t period = std::uint64_t(std::max(config_.metrics.flush_interval_ms, 100));
  uv_timer_start(
      refresh_timer_,
      [](uv_timer_t* timer) { static_cast<MasterMetrics*>(timer->data)->store_master_values(); },
      period, period);
  uv_unref(reinterpret_cast<uv_handle_t*>(refresh_timer_));
}

MasterMetrics::~MasterMetrics() {
  // Freed by the loop turns the lane runs below.
  if (refresh_timer_) {
    uv_close(reinterpret_cast<uv_handle_t*>(refresh_timer_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  }
  if (storage_ == StorageKind::redis) store_master_values();
  lane_.drain(true);
  if (storage_ == StorageKind::redis) {
    try {
      redis_->get_dict()->cleanup_dead_worker(
          storage::process_name(config_.metrics.instance, long(getpid())));
    } catch (const std::exception& error) {
      log::warning("Metrics: master values left to expire in Redis: ", error.what());
    }
  }
  registry_.reset();
  if (own_directory_) remove_directory(directory_);
}

void MasterMetrics::choose_storage() {
  if (config_.redis.enabled) {
    redis_ =
        std::make_unique<storage::RedisStorageManager>(config_.redis, config_.metrics.instance);
    if (redis_->setup()) {
      storage_ = StorageKind::redis;
      try {
        std::size_t cleaned = redis_->cleanup_keys();
        if (cleaned) log::info("Metrics: cleaned up ", cleaned, " processes of an earlier run");
      } catch (const std::exception& error) {
        log::warning("Metrics: cleanup of earlier processes failed: ", error.what());
      }
      log::info("Metrics: storage redis");
      return;
    }
    log::warning("Metrics: Redis unreachable at start (", redis_->last_error(),
                 "): falling back to files");
    redis_fallback_ = true;
    redis_.reset();
  }
  use_files();
}

void MasterMetrics::use_files() {
  storage_ = StorageKind::file;
  directory_ = config_.metrics.multiproc_dir;
  if (!directory_.empty()) {
    // Someone else's directory may hold files that are still wanted: never wiped.
    log::info("Metrics: storage file in ", directory_);
    return;
  }
  directory_ = make_private_directory();
  if (directory_.empty())
    throw std::runtime_error(std::string("metrics directory: mkdtemp: ") + std::strerror(errno));
  own_directory_ = true;
  log::info("Metrics: storage file in ", directory_, " (private, removed on exit)");
}

void MasterMetrics::make_registry() {
  std::unique_ptr<metrics::ValueStore> store;
  if (storage_ == StorageKind::redis) {
    registry_slot_fd_ = metrics::create_slot();
    store = std::make_unique<metrics::SlotStore>(
        registry_slot_fd_, storage::process_name(config_.metrics.instance, long(getpid())));
  } else {
    store = std::make_unique<storage::file::FileStore>(directory_, std::to_string(getpid()));
  }
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

// Released in worker_forked(), right after the fork.
WorkerMetricsBoot MasterMetrics::prepare_worker() {
  lane_.fork_gate().lock();
  WorkerMetricsBoot boot;
  if (storage_ == StorageKind::file) {
    boot.directory = directory_;
    return boot;
  }
  try {
    boot.slot_fd = metrics::create_slot();
  } catch (const std::exception& error) {
    log::error("Metrics: no slot for the new worker, its values are not kept: ", error.what());
  }
  return boot;
}

void MasterMetrics::worker_forked() {
  lane_.fork_gate().unlock();
}

void MasterMetrics::close_in_worker() {
  if (registry_slot_fd_ >= 0) ::close(registry_slot_fd_);
}

void MasterMetrics::worker_reaped(const ReapedWorker& worker) {
  std::string reason = exit_reason_name(worker.reason);
  auto count_restart = [this, reason] {
    restarts_->labels({reason}).inc();
    store_master_values();
  };
  if (storage_ == StorageKind::file) {
    std::string directory = directory_;
    std::string process = std::to_string(worker.pid);
    lane_.push({[directory, process] {
                  storage::file::FileCollector collector(directory);
                  if (!collector.cleanup_dead_worker(process)) {
                    for (const std::string& error : collector.errors())
                      log::error("Metrics: cleanup of ", process, ": ", error);
                  }
                  return true;
                },
                count_restart});
    return;
  }
  storage::RedisStorageDict* dict = redis_->get_dict();
  std::string process = storage::process_name(config_.metrics.instance, long(worker.pid));
  int fd = worker.metrics_slot_fd;
  // Retried whole while Redis is away; the slot is closed once its values are written, so a
  // retry after that only repeats the cleanup.
  lane_.push({[dict, process, fd]() mutable {
                if (fd >= 0) {
                  std::vector<metrics::ProcessValues> values;
                  std::string error;
                  if (!metrics::read_slot(fd, process, values, error))
                    log::error("Metrics: slot of ", process, ": ", error);
                  dict->write_values(values);
                  ::close(fd);
                  fd = -1;
                }
                dict->cleanup_dead_worker(process);
                return true;
              },
              count_restart});
}

void MasterMetrics::signal_handled(int signum) {
  signals_->labels({signal_label(signum)}).inc();
  store_master_values();
}

void MasterMetrics::workers_changed(int live) {
  workers_->set(live);
  store_master_values();
}

// Files are written in place; Redis gets the registry's values, coalesced while one write
// is queued. A write that failed stays queued (and retried) rather than piling up new ones
// while Redis is away.
void MasterMetrics::store_master_values() {
  if (storage_ != StorageKind::redis || master_values_queued_) return;
  master_values_queued_ = true;
  storage::RedisStorageDict* dict = redis_->get_dict();
  metrics::ValueStore* store = &registry_->store();
  lane_.push({[this, dict, store] {
                master_values_queued_ = false;
                try {
                  dict->write_values(store->snapshot());
                } catch (const std::exception&) {
                  master_values_queued_ = true;
                  throw;
                }
                return true;
              },
              {}});
}

void MasterMetrics::scrape(std::function<void(bool ok, std::string text)> done) {
  struct Result {
    bool ok = false;
    std::string text;
  };
  auto result = std::make_shared<Result>();
  std::function<bool()> work;
  if (storage_ == StorageKind::file) {
    std::string directory = directory_;
    work = [directory, result] {
      storage::file::FileCollector collector(directory);
      result->text = metrics::render_text(collector.collect());
      result->ok = true;
      return true;
    };
  } else {
    storage::RedisMultiProcessCollector* collector = redis_->get_collector();
    work = [collector, result] {
      try {
        result->text = collector->render();
        result->ok = true;
      } catch (const std::exception& error) {
        result->text = error.what();
      }
      return true;
    };
  }
  lane_.push({std::move(work), [result, done] { done(result->ok, std::move(result->text)); }});
}

void MasterMetrics::check_redis(std::function<void(bool connected)> done) {
  if (storage_ != StorageKind::redis) {
    done(false);
    return;
  }
  struct Check {
    uv_work_t request;
    config::Redis redis;
    std::mutex* fork_gate;
    bool connected = false;
    std::function<void(bool)> done;
  };
  auto* check = new Check{{}, config_.redis, &lane_.fork_gate(), false, std::move(done)};
  check->request.data = check;
  uv_queue_work(
      loop_, &check->request,
      [](uv_work_t* request) {
        auto* check = static_cast<Check*>(request->data);
        std::lock_guard gate(*check->fork_gate);
        storage::EndpointResult resolved = storage::resolve_endpoint(check->redis);
        if (!resolved.error.empty()) return;
        storage::RedisStorageClient client(resolved.endpoint);
        check->connected = client.ping();
      },
      [](uv_work_t* request, int) {
        std::unique_ptr<Check> check(static_cast<Check*>(request->data));
        check->done(check->connected);
      });
}

}  // namespace prefork::master
