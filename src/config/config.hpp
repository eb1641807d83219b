// The one immutable configuration value: defaults < TOML file < environment < command line.
#pragma once

#include <prefork/worker.hpp>

#include "core/ip_allow_list.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prefork::config {

// One --bind / bind entry: "HOST:PORT", "[V6]:PORT", "unix:/path" or "fd://N", optionally
// after "http://" or "https://" (README, "HTTPS": which listeners speak TLS).
struct Bind {
  enum class Kind { tcp, unix_socket, fd };
  enum class Scheme { unspecified, http, https };
  Kind kind = Kind::tcp;
  std::string host;  // tcp: "127.0.0.1", "::1", "0.0.0.0", "::"
  int port = 0;      // tcp: 0 asks the kernel for a free port
  std::string path;  // unix_socket
  int fd = -1;       // fd
  std::string text;  // as written, for logs
  Scheme scheme = Scheme::unspecified;
  bool tls = false;  // resolved by load(): this listener speaks TLS
};

// gunicorn's SSL settings, for the app listeners that speak TLS.
struct Tls {
  enum class ClientCerts { none, optional, required };

  std::string certfile;  // "" = no TLS
  std::string keyfile;   // "" = the key is in certfile
  std::string ca_certs;  // CAs client certificates must chain to
  ClientCerts cert_reqs = ClientCerts::none;
  std::string ciphers;                   // TLS 1.2 cipher list; "" = OpenSSL's default
  std::string ciphersuites;              // TLS 1.3 suites; "" = OpenSSL's default
  int min_version = 0x0303;              // ssl_min_version: 0x0303 TLS 1.2, 0x0304 TLS 1.3
  bool do_handshake_on_connect = false;  // accepted for gunicorn; the same either way
  // Resolved by load(): certfile is set and no bind names a scheme, so every listener speaks
  // TLS, systemd's sockets included (they speak TLS in this mode only).
  bool every_listener = false;

  bool operator==(const Tls&) const = default;
};

struct Limits {
  int request_line = 4094;               // limit_request_line; 0 = unlimited
  int request_fields = 100;              // limit_request_fields
  int request_field_size = 8190;         // limit_request_field_size; 0 = unlimited
  std::int64_t max_body_size = 1 << 20;  // bytes; 0 = unlimited
  double header_timeout = 10;            // seconds to receive a whole request head
  double body_timeout = 30;              // seconds without progress reading a body or writing

  bool operator==(const Limits&) const = default;
};

struct Redis {
  bool enabled = false;                    // REDIS_ENABLED
  std::string host = "localhost";          // REDIS_HOST
  int port = 6379;                         // REDIS_PORT
  int db = 0;                              // REDIS_DB
  std::string key_prefix = "gunicorn";     // REDIS_KEY_PREFIX
  int ttl_seconds = 300;                   // REDIS_TTL_SECONDS; 0 = keys never expire
  bool ttl_disabled = false;               // REDIS_TTL_DISABLED: keys never expire
  std::string username;                    // REDIS_USERNAME: an ACL user; "" = the default user
  std::string password;                    // REDIS_PASSWORD
  bool ssl = false;                        // REDIS_SSL; a rediss:// URL sets it too
  std::string ssl_ca_certs;                // "" = the system's CA store
  std::string ssl_certfile;                // client certificate, "" = none
  std::string ssl_keyfile;                 // "" = the key is in ssl_certfile
  std::string ssl_cert_reqs = "required";  // or "none": the server's certificate is not checked
  bool ssl_check_hostname = true;
  std::string url;  // PROMETHEUS_REDIS_URL: wins over host, port, db, user, password
  // Sentinel: set, the master's host and port are asked of these ("host:port" each).
  std::vector<std::string> sentinels;
  std::string sentinel_master = "mymaster";  // the name the sentinels monitor
  std::string sentinel_password;             // AUTH to the sentinels; "" = none
  // Cluster: set, the slot map is asked of these ("host:port" each); db must be 0.
  std::vector<std::string> cluster_nodes;
  double connect_timeout = 5;  // seconds
  double command_timeout = 5;  // seconds
  bool debug = false;          // REDIS_DEBUG

  // The expiry metric keys get, in seconds; 0 = none (the exporter's rule: disabled, or a TTL
  // of 0).
  int key_ttl() const { return ttl_disabled ? 0 : ttl_seconds; }
  bool operator==(const Redis&) const = default;
};

struct Metrics {
  bool enabled = true;
  std::string bind_address = "0.0.0.0";  // PROMETHEUS_BIND_ADDRESS
  int port = 9092;                       // PROMETHEUS_METRICS_PORT; 0 = a free port
  std::string multiproc_dir;             // PROMETHEUS_MULTIPROC_DIR; "" = a private temp dir
  int flush_interval_ms = 1000;
  double scrape_timeout = 3;        // seconds a /metrics request waits for the storage, then 503
  std::string instance;             // keys use "{instance}-{pid}" when set
  std::string scope = "instance";   // "instance" or "fleet": whose series /metrics serves
  std::string prefix = "gunicorn";  // metric name prefix of the built-in metrics
  // Bounds of the built-in histograms (+Inf is added): prometheus_client's default duration
  // buckets, the exporter's (0.1 … 60) and sub-millisecond ones for a C++ server.
  std::vector<double> duration_buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.075,  0.1,   0.25,   0.5,   0.75,
                                          1,      2.5,     5,      7.5,   10,     30,    60};
  // Request and response sizes: the exporter's (1 KiB … 4 MiB) and a few either side.
  std::vector<double> size_buckets = {64,    256,    1024,    4096,    16384,
                                      65536, 262144, 1048576, 4194304, 16777216};
  bool cleanup_db_files = true;  // CLEANUP_DB_FILES: fold and remove a dead worker's .db files
  bool debug = false;            // PROMETHEUS_DEBUG
  // HTTPS for /metrics, with the exporter's variables: on when certfile and keyfile are set.
  std::string ssl_certfile;               // PROMETHEUS_SSL_CERTFILE
  std::string ssl_keyfile;                // PROMETHEUS_SSL_KEYFILE
  std::string ssl_client_cafile;          // PROMETHEUS_SSL_CLIENT_CAFILE
  std::string ssl_client_capath;          // PROMETHEUS_SSL_CLIENT_CAPATH
  bool ssl_client_auth_required = false;  // PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED

  bool tls() const { return !ssl_certfile.empty(); }
  bool operator==(const Metrics&) const = default;
};

// One secure_scheme_headers entry: a request from a trusted front end whose header `name` has
// exactly `value` was https to the client.
struct SchemeHeader {
  std::string name;  // upper case, as gunicorn writes them
  std::string value;

  bool operator==(const SchemeHeader&) const = default;
};

struct Config {
  std::string config_file;  // "" when none was given
  std::vector<Bind> binds = {{Bind::Kind::tcp, "127.0.0.1", 8000, "", -1, "127.0.0.1:8000"}};
  int workers = 0;                  // 0 = the number of CPUs, filled in by load(); GUNICORN_WORKERS
  std::string worker_class = "uv";  // "uv" or "threads"
  int threads = 1;
  int worker_connections = 1000;
  double timeout = 30;           // heartbeat timeout, seconds; 0 disables
  double graceful_timeout = 30;  // seconds
  double keepalive = 2;          // idle keep-alive timeout, seconds; 0 disables keep-alive
  int max_requests = 0;          // 0 disables recycling
  int max_requests_jitter = 0;
  int backlog = 2048;
  bool reuse_port = false;
  bool preload_app = false;
  bool reload = false;  // watch the app's .so (and reload_extra_files) and reload on change
  std::vector<std::string> reload_extra_files;
  std::string app;  // "path/libfoo.so:name"; "" = the factory given to prefork::run
  std::string pidfile;
  std::string user, group;  // drop privileges after bind
  int umask = 0;
  std::string chdir;
  // raw_env (-e): "KEY=VALUE" entries set in the master's environment before the app is loaded;
  // workers and the app inherit them.
  std::vector<std::string> raw_env;
  bool daemon = false;  // -D: detach from the terminal at start, before binding
  std::string proc_name = "prefork";
  std::string loglevel = "info";
  std::string errorlog = "-";
  std::string accesslog;  // "" = off, "-" = stdout
  std::string access_log_format = R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s")";
  std::string log_format = "text";  // "text" or "json": the error log's and access log's lines
  Limits limits;
  // Behind a proxy (README, "Security"): whose X-Forwarded-* headers and PROXY headers count.
  IpAllowList forwarded_allow_ips = IpAllowList::parse("127.0.0.1,::1").value();
  std::vector<SchemeHeader> secure_scheme_headers = {  // sorted by name
      {"X-FORWARDED-PROTO", "https"},
      {"X-FORWARDED-PROTOCOL", "ssl"},
      {"X-FORWARDED-SSL", "on"}};
  Tls tls;
  bool proxy_protocol = false;  // a PROXY header (v1 or v2) starts connections of proxy_allow_ips
  IpAllowList proxy_allow_ips = IpAllowList::parse("127.0.0.1,::1").value();
  Redis redis;
  Metrics metrics;
  AppConfig app_config;       // the [app] table
  bool check_only = false;    // --check-config
  bool print_config = false;  // --print-config
  bool metrics_only = false;  // `prefork metrics`, --metrics-only: no workers, no app
};

// The outcome of reading the command line: run, or print and exit with a code. Not a Result:
// --help and --version end the run without an error, and the caller needs the exit code and
// the text to print in both cases.
struct LoadResult {
  std::optional<Config> config;
  std::string message;  // error text ("file:line: key: what is wrong"), --help or --version text
  int exit_code = 0;    // 2 for usage and config errors, 0 for --help/--version
};

// Reads argv, the environment (envp-style "NAME=value" strings) and the file named by -c.
LoadResult load(int argc, const char* const* argv, const char* const* envp);

// --print-config: the effective configuration as TOML, "key = value" per setting in the order of
// the README's table, then [app]. It loads back to the same values, except that passwords (and
// the one in redis.url) are shown as "***". Unset settings are comments ("# pidfile = none"), and
// so is app beside an [app] table, which TOML cannot hold both of: it is given with --app.
std::string printed(const Config& config);

// Re-reads the file a running master was started with (SIGHUP), keeping the CLI and env layers.
LoadResult reload(const Config& running, int argc, const char* const* argv,
                  const char* const* envp);

}  // namespace prefork::config
