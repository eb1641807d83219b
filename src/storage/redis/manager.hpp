// RedisStorageManager: the seed's service layer, inside the storage layer (the public one of
// include/prefork/redis_storage.hpp is built on it). setup() decides whether metrics go to Redis
// (true) or to files (false, with the reason kept in last_error()).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "storage/redis/client.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/storage_dict.hpp"

namespace prefork::storage {

class RedisStorageManager {
 public:
  // Tests inject a factory to count or fail connections; the default makes a plain client.
  using ClientFactory =
      std::function<std::unique_ptr<RedisStorageClient>(const RedisEndpoint& endpoint)>;

  // instance is key_instance's (metrics.instance, a hash tag in a cluster): the {pid} part of
  // keys is "{instance}-{pid}" when set, and cleanup only ever touches this instance's processes.
  explicit RedisStorageManager(config::Redis redis = {}, std::string instance = "",
                               ClientFactory factory = {});
  ~RedisStorageManager();
  RedisStorageManager(const RedisStorageManager&) = delete;
  RedisStorageManager& operator=(const RedisStorageManager&) = delete;

  // Connects, authenticates, selects the database and checks PING. False when Redis is
  // disabled, misconfigured (bad URL, unusable TLS file), unreachable or refuses the TLS
  // handshake; the reason is in last_error().
  bool setup();
  void teardown();

  bool is_enabled() const { return dict_ != nullptr; }
  // PING answers now.
  bool is_connected();
  RedisStorageClient* get_client() { return client_.get(); }
  RedisStorageDict* get_dict() { return dict_.get(); }
  RedisMultiProcessCollector* get_collector() { return collector_.get(); }
  const std::string& last_error() const { return last_error_; }
  const std::string& instance() const { return instance_; }

  // Runs cleanup_dead_worker for every process of this instance whose pid no longer exists
  // on this host, and drops index entries of this instance whose keys all expired. Returns
  // the number of processes cleaned.
  std::size_t cleanup_keys();

 private:
  bool refuse(std::string reason);

  config::Redis redis_;
  std::string instance_;
  ClientFactory factory_;
  std::unique_ptr<RedisStorageClient> client_;
  std::unique_ptr<RedisStorageDict> dict_;
  std::unique_ptr<RedisMultiProcessCollector> collector_;
  std::string last_error_;
};

}  // namespace prefork::storage
