#include "storage/backend.hpp"

#include <unistd.h>

#include "core/log.hpp"
#include "storage/file/file_backend.hpp"
#include "storage/file/file_reader.hpp"
#include "storage/file/file_store.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/redis_backend.hpp"
#include "storage/redis/redis_reader.hpp"
#include "storage/redis/worker_sink.hpp"

namespace prefork::storage {
namespace {

// Files need nothing after fork: the worker writes its .db files and the master reads them.
class FileWorkerSink final : public WorkerSink {
 public:
  FileWorkerSink(std::string directory, std::string process)
      : directory_(std::move(directory)), process_(std::move(process)) {}
  std::unique_ptr<metrics::ValueStore> make_store() override {
    return std::make_unique<file::FileStore>(directory_, process_);
  }
  void start(const metrics::ValueStore&) override {}
  void stop(std::uint64_t) override {}

 private:
  std::string directory_;
  std::string process_;
};

}  // namespace

std::string process_name(const config::Config& config, long pid) {
  return process_name(config.metrics.instance, pid);
}

std::unique_ptr<Backend> open_backend(const config::Config& config, uv_loop_t* loop) {
  if (!config.redis.enabled) return std::make_unique<file::FileBackend>(config, loop, false);
  Result<std::unique_ptr<RedisBackend>> redis = RedisBackend::open(config, loop);
  if (redis) return std::move(redis).value();
  log::warning("Metrics: Redis unreachable at start (", redis.message(),
               "): falling back to files");
  return std::make_unique<file::FileBackend>(config, loop, true);
}

Result<std::unique_ptr<Reader>> open_reader(const config::Config& config, uv_loop_t* loop) {
  if (config.redis.enabled) {
    Result<RedisEndpoint> endpoint =
        resolve_endpoint(config.redis, key_instance(config.redis, config.metrics.instance));
    if (!endpoint) return Status::error(endpoint.message());
    log::info("Metrics: reading redis at ", describe(*endpoint));
    return std::unique_ptr<Reader>(std::make_unique<RedisReader>(config, loop, *endpoint));
  }
  if (config.metrics.multiproc_dir.empty()) {
    return Status::error(
        "nothing to read: set Redis (redis.enabled, REDIS_ENABLED) or the directory the "
        "workers write (metrics.multiproc_dir, PROMETHEUS_MULTIPROC_DIR)");
  }
  log::info("Metrics: reading files in ", config.metrics.multiproc_dir);
  return std::unique_ptr<Reader>(
      std::make_unique<file::FileReader>(config.metrics.multiproc_dir, loop, false));
}

std::unique_ptr<WorkerSink> open_worker_sink(const config::Config& config, WorkerPlace place,
                                             uv_loop_t* loop) {
  if (place.slot) {
    return std::make_unique<RedisWorkerSink>(config, std::move(place.slot), std::move(place.redis),
                                             loop);
  }
  if (!place.directory.empty())
    return std::make_unique<FileWorkerSink>(place.directory, process_name(config, getpid()));
  return nullptr;
}

}  // namespace prefork::storage
