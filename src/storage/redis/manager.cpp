#include "storage/redis/manager.hpp"

#include <signal.h>

#include <cerrno>

#include "core/log.hpp"
#include "storage/redis/errors.hpp"

namespace prefork::storage {
namespace {

std::unique_ptr<RedisStorageClient> make_client(const RedisEndpoint& endpoint) {
  return std::make_unique<RedisStorageClient>(endpoint);
}

bool process_exists(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

RedisStorageManager::RedisStorageManager(config::Redis redis, std::string instance,
                                         ClientFactory factory)
    : redis_(std::move(redis)),
      instance_(std::move(instance)),
      factory_(factory ? std::move(factory) : ClientFactory(make_client)) {}

RedisStorageManager::~RedisStorageManager() {
  teardown();
}

// Logged at debug only: what a failure means is the caller's to say (the master falls back to
// files, a program using the library reads last_error()).
bool RedisStorageManager::refuse(std::string reason) {
  last_error_ = std::move(reason);
  log::debug("redis: ", last_error_);
  client_.reset();
  return false;
}

bool RedisStorageManager::setup() {
  teardown();
  last_error_.clear();
  if (!redis_.enabled) return refuse("Redis storage is disabled (REDIS_ENABLED=false)");
  Result<RedisEndpoint> resolved = resolve_endpoint(redis_, instance_);
  if (!resolved) return refuse(resolved.message());
  try {
    client_ = factory_(*resolved);
    if (client_ == nullptr) return refuse("no Redis client could be made");
    client_->connect();
    if (!client_->ping()) return refuse("Redis does not answer PING");
  } catch (const RedisError& error) {
    return refuse(error.what());
  }
  dict_ =
      std::make_unique<RedisStorageDict>(*client_, redis_.key_prefix, redis_.key_ttl(), instance_);
  collector_ = std::make_unique<RedisMultiProcessCollector>(*dict_);
  log::info("redis: metrics stored in Redis at ", resolved->host, ":", resolved->port, "/",
            resolved->db, resolved->tls ? " over TLS" : "", " with prefix '", redis_.key_prefix,
            "'");
  return true;
}

void RedisStorageManager::teardown() {
  collector_.reset();
  dict_.reset();
  client_.reset();
}

bool RedisStorageManager::is_connected() {
  return client_ != nullptr && client_->ping();
}

std::size_t RedisStorageManager::cleanup_keys() {
  if (dict_ == nullptr) return 0;
  std::size_t cleaned = 0;
  std::string archive = dict_->archive();
  for (const std::string& process : dict_->processes()) {
    long pid = pid_of_process(instance_, process);
    if (pid < 0 && process != archive) continue;
    if (pid > 0 && !process_exists(pid)) {
      dict_->cleanup_dead_worker(process);
      ++cleaned;
    } else if (dict_->size(process) == 0) {
      client_->command({"SREM", dict_->layout().processes(), process});
    }
  }
  return cleaned;
}

}  // namespace prefork::storage
