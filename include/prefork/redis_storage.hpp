// prefork's Redis storage of metrics as a library, under the names of gunicorn-prometheus-
// exporter's Redis backend: RedisStorageClient, RedisStorageDict, RedisValue,
// RedisMultiProcessCollector, RedisStorageManager and the global helpers (setup_redis_metrics,
// …). The same code and key layout as a prefork master's, so that a program that is not a
// prefork server (a cron job, another server) records prefork::metrics values into the Redis a
// master uses, and the master's /metrics serves them aggregated with its own workers':
//
//   using namespace prefork::redis;
//   RedisStorageManager manager(RedisSettings::from_config_file("/etc/prefork/prefork.toml"));
//   if (!manager.setup()) std::cerr << manager.last_error() << "\n";
//   auto& runs = manager.registry().counter("backup_runs_total", "Backups run.");
//   runs.inc();
//   manager.teardown();  // the last write, then folded into the instance's archive
//
// Every call that reaches Redis blocks (a round trip or more): this is not for a prefork
// request handler, whose worker.metrics() are stored for it without waiting. Objects of these
// classes are for one thread at a time, except a manager's registry() and its metrics, and
// flush() against start_flushing()'s thread.
#pragma once

#include <prefork/metrics.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace prefork::redis {

// What reaching Redis can throw. A command Redis refuses is a plain RedisError.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Cannot connect, or the connection was lost.
class RedisConnectionError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Connecting or a command took longer than its timeout.
class RedisTimeoutError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Wrong or missing password (AUTH refused, NOAUTH, WRONGPASS).
class RedisAuthenticationError : public RedisError {
 public:
  using RedisError::RedisError;
};

// A setting that cannot be used: an unknown key, a bad value, a config file that does not load,
// a TLS file that cannot be read. The message names the setting.
class SettingsError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {
struct Access;
}

// Where Redis is and how keys are named: prefork's [redis] settings, metrics.instance and
// metrics.scope, with prefork's defaults and meanings (README, the option table).
class RedisSettings {
 public:
  // prefork's defaults (localhost:6379, db 0, prefix "gunicorn", TTL 300 s, no instance), with
  // redis.enabled on: a program that makes its settings in code has chosen Redis.
  RedisSettings();
  // What a prefork master reads from the environment: REDIS_ENABLED (off unless set, as for the
  // master), REDIS_HOST, PROMETHEUS_REDIS_URL, … Throws SettingsError.
  static RedisSettings from_environment();
  // What `prefork -c path` reads: the file, then the environment over it. Only the settings
  // named above are kept; an error in any setting of the file throws SettingsError.
  static RedisSettings from_config_file(const std::string& path);

  RedisSettings(const RedisSettings& other);
  RedisSettings& operator=(const RedisSettings& other);
  // A moved-from object stays usable (copy, set, get): it holds some valid settings.
  RedisSettings(RedisSettings&&) noexcept;
  RedisSettings& operator=(RedisSettings&&) noexcept;
  ~RedisSettings();

  // One setting by its key in prefork.toml ("redis.host", "redis.port", "redis.ssl",
  // "redis.ttl_disabled", "metrics.instance", …), the value written as in its environment
  // variable ("6380", "on", "h1:26379,h2:26379"). Throws SettingsError for another key or a bad
  // value.
  RedisSettings& set(std::string_view key, std::string_view value);
  // A setting as prefork --print-config shows it: "6379", "\"gunicorn\"", "***" for a password.
  std::string get(std::string_view key) const;

 private:
  friend struct detail::Access;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One blocking connection to the Redis of the settings (through sentinels or a cluster when
// they say so; over TLS only, when they ask for TLS).
class RedisStorageClient {
 public:
  // Does not connect yet: connect() or the first command does. Throws SettingsError when the
  // settings make no endpoint (a bad URL, an unusable TLS file).
  explicit RedisStorageClient(const RedisSettings& settings);
  ~RedisStorageClient();
  RedisStorageClient(const RedisStorageClient&) = delete;
  RedisStorageClient& operator=(const RedisStorageClient&) = delete;

  // Throws RedisConnectionError, RedisTimeoutError or RedisAuthenticationError.
  void connect();
  // PING; false instead of throwing.
  bool ping();
  bool is_connected() const;
  // Seconds since the epoch by Redis' clock (TIME).
  double server_time();
  // Where it connects, without the password: "127.0.0.1:6379".
  std::string describe() const;

 private:
  friend struct detail::Access;
  struct Impl;
  explicit RedisStorageClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One stored series: its kind as in the keys ("counter", "gauge_all", "gauge_livesum",
// "histogram", "summary"), the process that writes it ("1234", or "web1-1234" with
// metrics.instance) and its JSON key (redis_key()).
struct Series {
  std::string kind;
  std::string process;
  std::string key;
};

struct StoredValue {
  Series series;
  double value = 0;
  double timestamp = 0;  // seconds since the epoch; only mostrecent gauges use it
};

struct CleanupResult {
  std::size_t folded = 0;   // values added into the instance's archive
  std::size_t deleted = 0;  // series removed (the folded ones and live gauges)
  std::size_t kept = 0;     // "all" gauges, kept per process until their TTL expires
};

// The seed's key of a sample: ["metric", "sample", {"label": "value"}, "help"], labels sorted,
// byte for byte prometheus_client's json.dumps(sort_keys=True). Throws prefork::metrics::
// MetricError when the label names and values differ in number.
std::string redis_key(std::string_view metric_name, std::string_view name,
                      const std::vector<std::string>& labelnames,
                      const std::vector<std::string>& labelvalues, std::string_view help_text);

// The stored values of the settings' key prefix, addressed by Series. Kinds that are not one
// of the tokens above throw prefork::metrics::MetricError; Redis failures throw RedisError.
class RedisStorageDict {
 public:
  // client must outlive the dictionary. Throws SettingsError for metrics.scope = "fleet" with
  // redis.cluster_nodes (a cluster's fleet is for `prefork metrics`).
  RedisStorageDict(RedisStorageClient& client, const RedisSettings& settings);
  ~RedisStorageDict();
  RedisStorageDict(const RedisStorageDict&) = delete;
  RedisStorageDict& operator=(const RedisStorageDict&) = delete;

  // This process's name in the keys: "1234", or "web1-1234" with metrics.instance.
  std::string process() const;
  // The name the instance's dead processes are folded into: "archive", or "web1-archive".
  std::string archive() const;

  std::optional<StoredValue> read_value(const Series& series);
  void write_value(const Series& series, double value, double timestamp = 0);
  // Many values in one round trip.
  void update(const std::vector<StoredValue>& values);
  bool contains(const Series& series);
  bool erase(const Series& series);

  // The processes in the index (every instance's), and the series of one of them.
  std::vector<std::string> processes();
  std::vector<Series> keys(std::string_view process);
  std::vector<double> values(std::string_view process);
  std::vector<StoredValue> items(std::string_view process);
  std::size_t size(std::string_view process);
  void clear(std::string_view process);

  // Retires a process that is gone, as a prefork master retires a dead worker: its counters,
  // summaries, histograms and min/max/sum/mostrecent gauges are folded into the archive in one
  // transaction (so no aggregate goes back), its live gauges deleted, its "all" gauges kept
  // until they expire. A pid is taken as this instance's.
  CleanupResult cleanup_dead_worker(std::string_view process);
  CleanupResult cleanup_dead_worker(long pid);

 private:
  friend struct detail::Access;
  struct Impl;
  explicit RedisStorageDict(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One value of this process, read and written with a round trip per call (a metric of the
// manager's registry() costs none and is written by flush()).
class RedisValue {
 public:
  // typ: counter, gauge, histogram or summary; multiprocess_mode: a gauge's ("all" when empty).
  // Loads the stored value, if any. Throws prefork::metrics::MetricError for a bad type, mode
  // or label count.
  RedisValue(RedisStorageDict& dict, std::string_view typ, std::string_view metric_name,
             std::string_view name, const std::vector<std::string>& labelnames,
             const std::vector<std::string>& labelvalues, std::string_view help_text,
             std::string_view multiprocess_mode = "");
  ~RedisValue();
  RedisValue(const RedisValue&) = delete;
  RedisValue& operator=(const RedisValue&) = delete;

  double get();  // reads Redis; the last known value when the key is gone
  void set(double value, double timestamp = 0);
  // The new total is written: this process is the only writer of its series.
  void inc(double amount = 1);
  double get_timestamp();
  const Series& series() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every process's values from one consistent snapshot, merged with prometheus_client's
// multiprocess rules: what a prefork master's /metrics serves from this Redis.
class RedisMultiProcessCollector {
 public:
  // The processes of the dictionary's instance and its archive; with metrics.scope = "fleet"
  // in the settings, every instance's, each merged apart and labelled instance. dict must
  // outlive the collector.
  explicit RedisMultiProcessCollector(RedisStorageDict& dict);
  ~RedisMultiProcessCollector();
  RedisMultiProcessCollector(const RedisMultiProcessCollector&) = delete;
  RedisMultiProcessCollector& operator=(const RedisMultiProcessCollector&) = delete;

  // Exposition text 0.0.4. Throws RedisError when Redis cannot be read.
  std::string collect();
  // accumulate = false: histogram buckets as stored and no _count, as prometheus_client's
  // merge(accumulate=False).
  std::string merge_from_redis(bool accumulate = true);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The service layer: a connection, its dictionary and collector, and this process's own
// metrics, whose values live in memory until flush() writes them.
class RedisStorageManager {
 public:
  // RedisSettings::from_environment().
  RedisStorageManager();
  explicit RedisStorageManager(RedisSettings settings);
  // teardown().
  ~RedisStorageManager();
  RedisStorageManager(const RedisStorageManager&) = delete;
  RedisStorageManager& operator=(const RedisStorageManager&) = delete;

  // Connects, authenticates, selects the database and checks PING. False (the reason in
  // last_error()) when Redis is disabled, misconfigured, unreachable or refuses the login or
  // the TLS handshake. On a manager already set up, it connects anew.
  bool setup();
  // Stops start_flushing()'s thread, writes the registry's values a last time and retires this
  // process (RedisStorageDict::cleanup_dead_worker): its counters join the archive and survive
  // it, as a dead worker's do. The registry lives on: what is counted afterwards is written by
  // the next setup() and flush(), from the amounts not yet retired. False when the values could
  // not be written (the reason in last_error()): they then expire with their TTL, or were never
  // written (not set up).
  bool teardown();
  // Replaces the settings (tears down first).
  void configure(RedisSettings settings);

  bool is_enabled() const;
  // PING answers now.
  bool is_connected();
  // Null until setup() succeeds, and after teardown().
  RedisStorageClient* get_client();
  RedisStorageDict* get_dict();
  RedisMultiProcessCollector* get_collector();
  const std::string& last_error() const;

  // Retires (cleanup_dead_worker) every process of the settings' instance whose pid no longer
  // exists on this host, as a prefork master does at start: run it only where that instance's
  // processes run. Returns how many.
  std::size_t cleanup_keys();

  // This process's metrics, for as long as the manager lives (setup() or not).
  metrics::Registry& registry();
  // Writes the registry's values (all of them: values are absolute, so a write repeated after a
  // failure counts nothing twice) and refreshes their TTL. False when not set up or Redis
  // failed (last_error()). Thread-safe against start_flushing()'s thread.
  bool flush();
  // flush() every interval on a thread of the manager, for a program that runs longer than
  // redis.ttl_seconds; teardown() stops it. Failures wait for the next turn.
  void start_flushing(std::chrono::milliseconds interval);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process-wide manager, made from the environment on first use and never destroyed (call
// teardown_redis_metrics() before the program ends), and the seed's helpers over it.
// setup_redis_metrics(settings) replaces its settings and calls setup().
RedisStorageManager& get_redis_storage_manager();
bool setup_redis_metrics();
bool setup_redis_metrics(const RedisSettings& settings);
bool teardown_redis_metrics();
bool is_redis_enabled();
bool is_connected();
RedisStorageClient* get_redis_client();
RedisStorageDict* get_redis_dict();
RedisMultiProcessCollector* get_redis_collector();
std::size_t cleanup_redis_keys();

}  // namespace prefork::redis
