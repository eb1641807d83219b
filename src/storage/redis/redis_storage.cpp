// The public Redis storage (include/prefork/redis_storage.hpp) over the storage layer's own
// classes, which stay private: each public object owns, or for the manager's views points at,
// the internal one of the same name.
#include <unistd.h>
#include <prefork/redis_storage.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.hpp"
#include "config/directives.hpp"
#include "config/layers.hpp"
#include "metrics/exposition.hpp"
#include "metrics/json_key.hpp"
#include "metrics/memory_store.hpp"
#include "storage/redis/collector.hpp"
#include "storage/redis/keys.hpp"
#include "storage/redis/manager.hpp"
#include "storage/redis/storage_dict.hpp"
#include "storage/redis/value.hpp"

extern char** environ;

namespace prefork::redis {

struct RedisSettings::Impl {
  config::Config config;
};

struct RedisStorageClient::Impl {
  std::unique_ptr<storage::RedisStorageClient> owned;  // null for the manager's view
  storage::RedisStorageClient* client;
};

struct RedisStorageDict::Impl {
  std::unique_ptr<storage::RedisStorageDict> owned;  // null for the manager's view
  storage::RedisStorageDict* dict;
  storage::Scope scope;
};

struct detail::Access {
  static const config::Config& config(const RedisSettings& settings) {
    return settings.impl_->config;
  }
  static config::Config& config(RedisSettings& settings) { return settings.impl_->config; }
  static storage::RedisStorageClient& client(RedisStorageClient& client) {
    return *client.impl_->client;
  }
  static storage::RedisStorageDict& dict(RedisStorageDict& dict) { return *dict.impl_->dict; }
  static storage::Scope scope(const RedisStorageDict& dict) { return dict.impl_->scope; }

  static std::unique_ptr<RedisStorageClient> view(storage::RedisStorageClient& client) {
    return std::unique_ptr<RedisStorageClient>(new RedisStorageClient(
        std::unique_ptr<RedisStorageClient::Impl>(new RedisStorageClient::Impl{{}, &client})));
  }
  static std::unique_ptr<RedisStorageDict> view(storage::RedisStorageDict& dict,
                                                storage::Scope scope) {
    return std::unique_ptr<RedisStorageDict>(new RedisStorageDict(
        std::unique_ptr<RedisStorageDict::Impl>(new RedisStorageDict::Impl{{}, &dict, scope})));
  }
};

namespace {

using detail::Access;

// The settings a program may make: where Redis is and how keys are named. The rest of prefork's
// settings mean nothing outside a prefork server.
bool is_storage_setting(std::string_view key) {
  return key.starts_with("redis.") || key == "metrics.instance" || key == "metrics.scope";
}

const config::Directive& storage_directive(std::string_view key) {
  const config::Directive* directive = is_storage_setting(key) ? config::find_by_key(key) : nullptr;
  if (directive == nullptr) {
    throw SettingsError(std::string(key) +
                        ": not a setting of the Redis storage (redis.*, metrics.instance, "
                        "metrics.scope)");
  }
  return *directive;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += (text.empty() ? "" : "\n") + line;
  return text;
}

// key_instance: the instance as it appears in keys (a hash tag in a cluster).
std::string instance_of(const config::Config& config) {
  return storage::key_instance(config.redis, config.metrics.instance);
}

storage::Scope scope_of(const config::Config& config) {
  storage::Scope scope = storage::scope_named(config.metrics.scope);
  if (scope == storage::Scope::fleet && !config.redis.cluster_nodes.empty()) {
    throw SettingsError(
        "metrics.scope = \"fleet\" with redis.cluster_nodes: a cluster's fleet is read by "
        "prefork metrics, not by this collector");
  }
  return scope;
}

metrics::ValueKind kind_named(std::string_view token) {
  metrics::ValueKind kind;
  if (!metrics::ValueKind::parse(token, kind)) {
    throw metrics::MetricError("unknown kind \"" + std::string(token) +
                               "\": counter, histogram, summary or gauge_MODE");
  }
  return kind;
}

storage::Series internal(const Series& series) {
  return {kind_named(series.kind), series.process, series.key};
}

Series external(const storage::Series& series) {
  return {series.kind.token(), series.process, series.key};
}

std::vector<StoredValue> flattened(const std::vector<metrics::ProcessValues>& groups) {
  std::vector<StoredValue> out;
  for (const metrics::ProcessValues& group : groups) {
    for (const metrics::StoredValue& stored : group.values) {
      out.push_back(
          {{group.kind.token(), group.process, stored.key}, stored.value, stored.timestamp});
    }
  }
  return out;
}

CleanupResult external(const storage::CleanupResult& result) {
  return {result.folded, result.deleted, result.kept};
}

// Values that cleanup_dead_worker adds into the archive: once retired, the process must not
// write them again, or the aggregate would count them twice.
bool adds_when_folded(const metrics::ValueKind& kind) {
  return kind.type != metrics::Type::gauge || kind.mode == metrics::GaugeMode::sum;
}

}  // namespace

// ---- RedisSettings

RedisSettings::RedisSettings() : impl_(std::make_unique<Impl>()) {
  impl_->config.redis.enabled = true;
}

RedisSettings RedisSettings::from_environment() {
  RedisSettings settings;
  settings.impl_->config = config::Config{};
  std::vector<std::string> errors;
  config::apply_environment(environ, settings.impl_->config, errors);
  if (!errors.empty()) throw SettingsError(joined(errors));
  return settings;
}

RedisSettings RedisSettings::from_config_file(const std::string& path) {
  RedisSettings settings;
  settings.impl_->config = config::Config{};
  std::vector<std::string> errors;
  config::apply_file(path, settings.impl_->config, errors);
  config::apply_environment(environ, settings.impl_->config, errors);
  if (!errors.empty()) throw SettingsError(joined(errors));
  return settings;
}

RedisSettings::RedisSettings(const RedisSettings& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}

RedisSettings& RedisSettings::operator=(const RedisSettings& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}

// A moved-from object stays usable: it holds a new object's settings, or the assigned-to one's.
RedisSettings::RedisSettings(RedisSettings&& other) noexcept : RedisSettings() {
  impl_.swap(other.impl_);
}

RedisSettings& RedisSettings::operator=(RedisSettings&& other) noexcept {
  impl_.swap(other.impl_);
  return *this;
}

RedisSettings::~RedisSettings() = default;

RedisSettings& RedisSettings::set(std::string_view key, std::string_view value) {
  const config::Directive& directive = storage_directive(key);
  if (Status status = directive.apply(impl_->config, config::Input::text(std::string(value)));
      !status.ok()) {
    throw SettingsError(std::string(key) + ": " + status.message());
  }
  return *this;
}

std::string RedisSettings::get(std::string_view key) const {
  return config::value_text(storage_directive(key), impl_->config);
}

// ---- RedisStorageClient

RedisStorageClient::RedisStorageClient(const RedisSettings& settings) {
  const config::Config& config = Access::config(settings);
  Result<storage::RedisEndpoint> endpoint =
      storage::resolve_endpoint(config.redis, instance_of(config));
  if (!endpoint) throw SettingsError(endpoint.message());
  auto client = std::make_unique<storage::RedisStorageClient>(*endpoint);
  storage::RedisStorageClient* pointer = client.get();
  impl_.reset(new Impl{std::move(client), pointer});
}

RedisStorageClient::RedisStorageClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisStorageClient::~RedisStorageClient() = default;

void RedisStorageClient::connect() {
  impl_->client->connect();
}

bool RedisStorageClient::ping() {
  return impl_->client->ping();
}

bool RedisStorageClient::is_connected() const {
  return impl_->client->is_connected();
}

double RedisStorageClient::server_time() {
  return impl_->client->server_time();
}

std::string RedisStorageClient::describe() const {
  return storage::describe(impl_->client->endpoint());
}

// ---- redis_key

std::string redis_key(std::string_view metric_name, std::string_view name,
                      const std::vector<std::string>& labelnames,
                      const std::vector<std::string>& labelvalues, std::string_view help_text) {
  if (labelnames.size() != labelvalues.size()) {
    throw metrics::MetricError(std::to_string(labelnames.size()) + " label names but " +
                               std::to_string(labelvalues.size()) + " values for " +
                               std::string(metric_name));
  }
  metrics::Labels labels;
  for (std::size_t i = 0; i < labelnames.size(); ++i)
    labels.emplace_back(labelnames[i], labelvalues[i]);
  return metrics::json_key(metric_name, name, labels, help_text);
}

// ---- RedisStorageDict

RedisStorageDict::RedisStorageDict(RedisStorageClient& client, const RedisSettings& settings) {
  const config::Config& config = Access::config(settings);
  auto dict = std::make_unique<storage::RedisStorageDict>(
      Access::client(client), config.redis.key_prefix, config.redis.key_ttl(), instance_of(config));
  storage::RedisStorageDict* pointer = dict.get();
  impl_.reset(new Impl{std::move(dict), pointer, scope_of(config)});
}

RedisStorageDict::RedisStorageDict(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisStorageDict::~RedisStorageDict() = default;

std::string RedisStorageDict::process() const {
  return storage::process_name(impl_->dict->instance(), ::getpid());
}

std::string RedisStorageDict::archive() const {
  return impl_->dict->archive();
}

std::optional<StoredValue> RedisStorageDict::read_value(const Series& series) {
  std::optional<metrics::StoredValue> stored = impl_->dict->read_value(internal(series));
  if (!stored) return std::nullopt;
  return StoredValue{series, stored->value, stored->timestamp};
}

void RedisStorageDict::write_value(const Series& series, double value, double timestamp) {
  impl_->dict->write_value(internal(series), value, timestamp);
}

void RedisStorageDict::update(const std::vector<StoredValue>& values) {
  std::vector<metrics::ProcessValues> batch;
  for (const StoredValue& value : values) {
    storage::Series series = internal(value.series);
    batch.push_back({series.kind, series.process, {{series.key, value.value, value.timestamp}}});
  }
  impl_->dict->write_values(batch);
}

bool RedisStorageDict::contains(const Series& series) {
  return impl_->dict->contains(internal(series));
}

bool RedisStorageDict::erase(const Series& series) {
  return impl_->dict->erase(internal(series));
}

std::vector<std::string> RedisStorageDict::processes() {
  return impl_->dict->processes();
}

std::vector<Series> RedisStorageDict::keys(std::string_view process) {
  std::vector<Series> out;
  for (const storage::Series& series : impl_->dict->keys(process)) out.push_back(external(series));
  return out;
}

std::vector<double> RedisStorageDict::values(std::string_view process) {
  return impl_->dict->values(process);
}

std::vector<StoredValue> RedisStorageDict::items(std::string_view process) {
  return flattened(impl_->dict->items(process));
}

std::size_t RedisStorageDict::size(std::string_view process) {
  return impl_->dict->size(process);
}

void RedisStorageDict::clear(std::string_view process) {
  impl_->dict->clear(process);
}

CleanupResult RedisStorageDict::cleanup_dead_worker(std::string_view process) {
  return external(impl_->dict->cleanup_dead_worker(process));
}

CleanupResult RedisStorageDict::cleanup_dead_worker(long pid) {
  return external(impl_->dict->cleanup_dead_worker(pid));
}

// ---- RedisValue

struct RedisValue::Impl {
  Series series;
  storage::RedisValue value;
};

RedisValue::RedisValue(RedisStorageDict& dict, std::string_view typ, std::string_view metric_name,
                       std::string_view name, const std::vector<std::string>& labelnames,
                       const std::vector<std::string>& labelvalues, std::string_view help_text,
                       std::string_view multiprocess_mode) {
  std::string kind(typ);
  if (typ == "gauge") {
    metrics::GaugeMode mode = metrics::GaugeMode::all;
    if (!multiprocess_mode.empty() && !metrics::parse_gauge_mode(multiprocess_mode, mode)) {
      throw metrics::MetricError("invalid multiprocess_mode \"" + std::string(multiprocess_mode) +
                                 "\"");
    }
    kind = metrics::ValueKind{metrics::Type::gauge, mode}.token();
  } else if (typ != "counter" && typ != "histogram" && typ != "summary") {
    throw metrics::MetricError("invalid type \"" + kind +
                               "\": counter, gauge, histogram or summary");
  }
  Series series{kind, dict.process(),
                redis_key(metric_name, name, labelnames, labelvalues, help_text)};
  storage::Series stored = internal(series);
  impl_.reset(new Impl{std::move(series), storage::RedisValue(Access::dict(dict), stored)});
}

RedisValue::~RedisValue() = default;

double RedisValue::get() {
  return impl_->value.get();
}

void RedisValue::set(double value, double timestamp) {
  impl_->value.set(value, timestamp);
}

void RedisValue::inc(double amount) {
  impl_->value.inc(amount);
}

double RedisValue::get_timestamp() {
  return impl_->value.get_timestamp();
}

const Series& RedisValue::series() const {
  return impl_->series;
}

// ---- RedisMultiProcessCollector

struct RedisMultiProcessCollector::Impl {
  storage::RedisMultiProcessCollector collector;
};

RedisMultiProcessCollector::RedisMultiProcessCollector(RedisStorageDict& dict)
    : impl_(
          new Impl{storage::RedisMultiProcessCollector(Access::dict(dict), Access::scope(dict))}) {}

RedisMultiProcessCollector::~RedisMultiProcessCollector() = default;

std::string RedisMultiProcessCollector::collect() {
  return merge_from_redis(true);
}

std::string RedisMultiProcessCollector::merge_from_redis(bool accumulate) {
  return metrics::render_text(impl_->collector.merge_from_redis(accumulate));
}

// ---- RedisStorageManager

struct RedisStorageManager::Impl {
  explicit Impl(RedisSettings given)
      : settings(std::move(given)),
        store(new metrics::MemoryStore("")),
        registry(std::unique_ptr<metrics::ValueStore>(store)) {}

  bool connect();
  void disconnect();
  bool write(std::vector<metrics::ProcessValues> values);
  bool retire();
  void stop_flushing();

  RedisSettings settings;
  std::unique_ptr<storage::RedisStorageManager> connection;
  std::unique_ptr<RedisStorageClient> client;
  std::unique_ptr<RedisStorageDict> dict;
  std::unique_ptr<RedisMultiProcessCollector> collector;
  std::string last_error;

  metrics::MemoryStore* store;  // the registry's
  metrics::Registry registry;

  // The registry's values go through a connection of their own, so that the flushing thread
  // never shares one with what the program does with get_client(), get_dict() or the collector.
  std::mutex write_mutex;
  std::unique_ptr<storage::RedisStorageClient> write_client;
  std::unique_ptr<storage::RedisStorageDict> write_dict;
  std::string write_error;

  std::mutex flushing_mutex;
  std::condition_variable flushing_stop;
  bool stopping = false;
  std::thread flushing;
};

bool RedisStorageManager::Impl::connect() {
  disconnect();
  const config::Config& config = Access::config(settings);
  last_error.clear();
  storage::Scope scope;
  try {
    scope = scope_of(config);
  } catch (const SettingsError& error) {
    last_error = error.what();
    return false;
  }
  connection = std::make_unique<storage::RedisStorageManager>(config.redis, instance_of(config));
  if (!connection->setup()) {
    last_error = connection->last_error();
    connection.reset();
    return false;
  }
  client = Access::view(*connection->get_client());
  dict = Access::view(*connection->get_dict(), scope);
  collector = std::make_unique<RedisMultiProcessCollector>(*dict);
  std::lock_guard lock(write_mutex);
  write_client =
      std::make_unique<storage::RedisStorageClient>(connection->get_client()->endpoint());
  write_dict = std::make_unique<storage::RedisStorageDict>(
      *write_client, config.redis.key_prefix, config.redis.key_ttl(), instance_of(config));
  return true;
}

void RedisStorageManager::Impl::disconnect() {
  {
    std::lock_guard lock(write_mutex);
    write_dict.reset();
    write_client.reset();
  }
  collector.reset();
  dict.reset();
  client.reset();
  connection.reset();
}

// Under write_mutex: values (a snapshot of the registry), under this process's current name.
bool RedisStorageManager::Impl::write(std::vector<metrics::ProcessValues> values) {
  if (!write_dict) {
    write_error = "Redis storage is not set up: metrics not written";
    return false;
  }
  std::string process = storage::process_name(write_dict->instance(), ::getpid());
  for (metrics::ProcessValues& group : values) group.process = process;
  try {
    write_dict->write_values(values);
    return true;
  } catch (const RedisError& error) {
    write_error = std::string("metrics not written to Redis: ") + error.what();
    return false;
  }
}

// The last write, then this process folded into the archive; what was folded is taken out of
// the registry's cells (a subtraction of what was written, so that what a thread adds
// meanwhile stays for the next write).
bool RedisStorageManager::Impl::retire() {
  std::lock_guard lock(write_mutex);
  std::vector<metrics::ProcessValues> values = store->snapshot();
  if (!write(values)) return false;
  try {
    write_dict->cleanup_dead_worker(storage::process_name(write_dict->instance(), ::getpid()));
  } catch (const RedisError& error) {
    write_error = std::string("metrics written but not retired: ") + error.what();
    return false;
  }
  for (const metrics::ProcessValues& group : values) {
    if (!adds_when_folded(group.kind)) continue;
    for (const metrics::StoredValue& stored : group.values) {
      metrics::detail::add(store->cell(group.kind, stored.key), -stored.value);
    }
  }
  return true;
}

void RedisStorageManager::Impl::stop_flushing() {
  if (!flushing.joinable()) return;
  {
    std::lock_guard lock(flushing_mutex);
    stopping = true;
  }
  flushing_stop.notify_all();
  flushing.join();
  stopping = false;
}

RedisStorageManager::RedisStorageManager()
    : RedisStorageManager(RedisSettings::from_environment()) {}

RedisStorageManager::RedisStorageManager(RedisSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

RedisStorageManager::~RedisStorageManager() {
  teardown();
}

bool RedisStorageManager::setup() {
  return impl_->connect();
}

bool RedisStorageManager::teardown() {
  impl_->stop_flushing();
  bool retired = impl_->retire();
  if (!retired) impl_->last_error = impl_->write_error;
  impl_->disconnect();
  return retired;
}

void RedisStorageManager::configure(RedisSettings settings) {
  teardown();
  impl_->settings = std::move(settings);
}

bool RedisStorageManager::is_enabled() const {
  return impl_->connection != nullptr;
}

bool RedisStorageManager::is_connected() {
  return impl_->connection != nullptr && impl_->connection->is_connected();
}

RedisStorageClient* RedisStorageManager::get_client() {
  return impl_->client.get();
}

RedisStorageDict* RedisStorageManager::get_dict() {
  return impl_->dict.get();
}

RedisMultiProcessCollector* RedisStorageManager::get_collector() {
  return impl_->collector.get();
}

const std::string& RedisStorageManager::last_error() const {
  return impl_->last_error;
}

std::size_t RedisStorageManager::cleanup_keys() {
  return impl_->connection ? impl_->connection->cleanup_keys() : 0;
}

metrics::Registry& RedisStorageManager::registry() {
  return impl_->registry;
}

bool RedisStorageManager::flush() {
  std::lock_guard lock(impl_->write_mutex);
  if (impl_->write(impl_->store->snapshot())) return true;
  impl_->last_error = impl_->write_error;
  return false;
}

void RedisStorageManager::start_flushing(std::chrono::milliseconds interval) {
  impl_->stop_flushing();
  impl_->flushing = std::thread([impl = impl_.get(), interval] {
    std::unique_lock lock(impl->flushing_mutex);
    while (!impl->flushing_stop.wait_for(lock, interval, [impl] { return impl->stopping; })) {
      std::lock_guard guard(impl->write_mutex);
      impl->write(impl->store->snapshot());
    }
  });
}

// ---- the process-wide manager

// Never destroyed: a teardown among the destructors and atexit handlers at exit could write
// through an OpenSSL or a logger already cleaned up. teardown_redis_metrics() is the program's
// to call.
RedisStorageManager& get_redis_storage_manager() {
  static RedisStorageManager* manager = new RedisStorageManager;
  return *manager;
}

bool setup_redis_metrics() {
  return get_redis_storage_manager().setup();
}

bool setup_redis_metrics(const RedisSettings& settings) {
  RedisStorageManager& manager = get_redis_storage_manager();
  manager.configure(settings);
  return manager.setup();
}

bool teardown_redis_metrics() {
  return get_redis_storage_manager().teardown();
}

bool is_redis_enabled() {
  return get_redis_storage_manager().is_enabled();
}

bool is_connected() {
  return get_redis_storage_manager().is_connected();
}

RedisStorageClient* get_redis_client() {
  return get_redis_storage_manager().get_client();
}

RedisStorageDict* get_redis_dict() {
  return get_redis_storage_manager().get_dict();
}

RedisMultiProcessCollector* get_redis_collector() {
  return get_redis_storage_manager().get_collector();
}

std::size_t cleanup_redis_keys() {
  return get_redis_storage_manager().cleanup_keys();
}

}  // namespace prefork::redis
