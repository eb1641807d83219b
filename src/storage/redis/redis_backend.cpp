#include "storage/redis/redis_backend.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>

#include "core/log.hpp"
#include "metrics/slot.hpp"
#include "net/blocking_socket.hpp"
#include "storage/redis/keys.hpp"

namespace prefork::storage {
namespace {

// How long a dead worker's flush or cleanup waits before it is tried again (Redis down).
constexpr unsigned retry_ms = 1000;

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace

Result<std::unique_ptr<RedisBackend>> RedisBackend::open(const config::Config& config,
                                                         uv_loop_t* loop) {
  auto writes = std::make_unique<RedisStorageManager>(
      config.redis, key_instance(config.redis, config.metrics.instance));
  if (!writes->setup()) return Status::error(writes->last_error());
  return std::make_unique<RedisBackend>(config, loop, std::move(writes));
}

RedisBackend::RedisBackend(const config::Config& config, uv_loop_t* loop,
                           std::unique_ptr<RedisStorageManager> writes)
    : config_(config),
      loop_(loop),
      writes_(std::move(writes)),
      worker_endpoint_(std::make_shared<const RedisEndpoint>(writes_->get_client()->endpoint())),
      write_lane_(loop, "Metrics storage", retry_ms),
      reader_(config, loop, *worker_endpoint_) {
  cleanup_earlier_run();
  log::info("Metrics: storage redis");
}

// At start, before any worker: the loop has nothing to do yet, so this may wait for Redis.
// The archive is read first: the earlier run's processes fold into it. Its keys then take this
// run's expiry (none with redis.ttl_disabled): the run that wrote them may have had another,
// and folds rewrite only the series they add to.
void RedisBackend::cleanup_earlier_run() {
  try {
    RedisStorageDict& dict = *writes_->get_dict();
    dict.load_archive();
    dict.touch({dict.archive()});
    std::size_t cleaned = writes_->cleanup_keys();
    if (cleaned) log::info("Metrics: cleaned up ", cleaned, " processes of an earlier run");
  } catch (const std::exception& error) {
    log::warning("Metrics: cleanup of earlier processes failed: ", error.what());
  }
  restored_at_ = writes_->get_client()->connections();
}

RedisBackend::~RedisBackend() {
  write_lane_.drain(false);
}

std::string RedisBackend::process_of(long pid) const {
  return process_name(key_instance(config_.redis, config_.metrics.instance), pid);
}

// The child gets its own descriptor of the slot; the master's stays in pending_slot_ until
// worker_forked files it under the child's pid.
WorkerPlace RedisBackend::prepare_worker() {
  WorkerPlace place;
  try {
    pending_slot_.reset(metrics::create_slot());
    place.slot.reset(::dup(pending_slot_.get()));
    place.redis = worker_endpoint_;
  } catch (const std::exception& error) {
    log::error("Metrics: no slot for the new worker, its values are not kept: ", error.what());
  }
  return place;
}

void RedisBackend::worker_forked(pid_t pid) {
  if (pid > 0 && pending_slot_) slots_[pid] = std::move(pending_slot_);
  pending_slot_.reset();
}

void RedisBackend::close_in_child() {
  close_fd(pending_slot_.get());
  for (const auto& [pid, slot] : slots_) close_fd(slot.get());
  close_fd(master_slot_fd_);
  writes_->get_client()->close_in_child();
  reader_.close_in_child();
}

// The slot is read here, on the loop (it is memory, not I/O), and closed at once: a slot
// never waits in the master behind Redis, and no later worker inherits it.
void RedisBackend::worker_reaped(pid_t pid, std::function<void()> done) {
  Retiree retiree{process_of(pid), {}, std::move(done)};
  if (auto found = slots_.find(pid); found != slots_.end()) {
    if (Status read = metrics::read_slot(found->second.get(), retiree.process, retiree.slot); !read)
      log::error("Metrics: slot of ", retiree.process, ": ", read.message());
    slots_.erase(found);
  }
  {
    std::lock_guard lock(retiring_mutex_);
    retiring_.push_back(std::move(retiree));
    if (retire_queued_) return;
    retire_queued_ = true;
  }
  // One job takes every worker reaped until it runs: under restart churn the lane's cost is
  // per batch, not per worker. Retried whole while Redis is away.
  auto batch = std::make_shared<std::vector<Retiree>>();
  write_lane_.push({[this, batch] {
                      take_retirees(*batch);
                      retire(*batch);
                      restore_if_reconnected();
                      return Status();
                    },
                    [batch](const Status&) {
                      for (Retiree& retiree : *batch) {
                        if (retiree.done) retiree.done();
                      }
                    }});
}

void RedisBackend::take_retirees(std::vector<Retiree>& batch) {
  std::lock_guard lock(retiring_mutex_);
  retire_queued_ = false;
  for (Retiree& retiree : retiring_) batch.push_back(std::move(retiree));
  retiring_.clear();
}

// On the write lane. First the workers' own connections are cut off: what a worker sent just
// before it died must not land after its final values. Each step clears what it has done, so
// that a retry only repeats what failed.
void RedisBackend::retire(std::vector<Retiree>& batch) {
  RedisStorageDict& dict = *writes_->get_dict();
  std::vector<long long> clients;
  for (const Retiree& retiree : batch) {
    if (retiree.slot.storage_client > 0)
      clients.push_back(static_cast<long long>(retiree.slot.storage_client));
  }
  if (!clients.empty() && !dict.disconnect_clients(clients) && !kill_refused_) {
    kill_refused_ = true;
    log::warning(
        "Metrics: Redis refuses CLIENT KILL; a worker killed while flushing may have "
        "its last values counted twice or lost");
  }
  std::vector<metrics::ProcessValues> values;
  std::vector<std::string> processes;
  for (Retiree& retiree : batch) {
    retiree.slot.storage_client = 0;
    values.insert(values.end(), retiree.slot.values.begin(), retiree.slot.values.end());
    processes.push_back(retiree.process);
  }
  if (!values.empty()) dict.write_values(values);
  for (Retiree& retiree : batch) retiree.slot.values.clear();
  dict.cleanup_dead_workers(processes);
}

// On the write lane, after a job's writes: a new connection may be to a server without the
// archive. Repeated while writing it needed yet another connection; a failure leaves the job
// to be retried.
void RedisBackend::restore_if_reconnected() {
  RedisStorageClient& client = *writes_->get_client();
  for (std::uint64_t seen = client.connections(); seen != restored_at_;
       seen = client.connections()) {
    std::size_t series = writes_->get_dict()->restore_archive();
    restored_at_ = seen;
    if (series > 0)
      log::info("Metrics: reconnected to Redis, wrote the archive again (", series, " series)");
  }
}

std::unique_ptr<metrics::ValueStore> RedisBackend::master_store() {
  master_slot_fd_ = metrics::create_slot();
  auto store = std::make_unique<metrics::SlotStore>(master_slot_fd_, process_of(getpid()));
  master_store_ = store.get();
  start_refreshing();
  return store;
}

void RedisBackend::start_refreshing() {
  refresh_timer_ = UvTimer(loop_, uv_timer_init);
  refresh_timer_->data = this;
  std::uint64_t period = std::uint64_t(std::max(config_.metrics.flush_interval_ms, 100));
  uv_timer_start(
      refresh_timer_.get(),
      [](uv_timer_t* timer) { static_cast<RedisBackend*>(timer->data)->master_values_changed(); },
      period, period);
  uv_unref(refresh_timer_.base());
}

// Coalesced while one write is queued. A write that failed stays queued (and retried) rather
// than piling up new ones while Redis is away.
void RedisBackend::master_values_changed() {
  if (!master_store_ || master_values_queued_) return;
  master_values_queued_ = true;
  RedisStorageDict* dict = writes_->get_dict();
  metrics::ValueStore* store = master_store_;
  write_lane_.push({[this, dict, store] {
                      master_values_queued_ = false;
                      try {
                        dict->write_values(store->snapshot());
                        restore_if_reconnected();
                      } catch (const std::exception&) {
                        master_values_queued_ = true;
                        throw;
                      }
                      return Status();
                    },
                    {}});
}

void RedisBackend::scrape(std::function<void(Result<std::string>)> done) {
  reader_.scrape(std::move(done));
}

void RedisBackend::check_health(std::function<void(const Health&)> done) {
  reader_.check_health(std::move(done));
}

// The reader last: the write drains run the loop, and a scrape or health check that started
// meanwhile must finish before the reader's owner goes.
void RedisBackend::shut_down() {
  refresh_timer_.reset();
  master_values_changed();
  write_lane_.drain(true);
  std::string master = process_of(getpid());
  RedisStorageDict* dict = writes_->get_dict();
  write_lane_.push({[dict, master] {
                      try {
                        dict->cleanup_dead_worker(master);
                      } catch (const std::exception& error) {
                        log::warning("Metrics: master values left to expire in Redis: ",
                                     error.what());
                      }
                      return Status();
                    },
                    {}});
  write_lane_.drain(true);
  reader_.shut_down();
}

}  // namespace prefork::storage
