// Layers the sources in order (defaults, file, environment, command line), then fills the
// defaults that depend on the machine.
#include "config/config.hpp"
#include "config/input.hpp"
#include "config/layers.hpp"
#include "config/redis_url.hpp"
#include "core/exit_codes.hpp"

#include <prefork/version.hpp>

#include <algorithm>
#include <string_view>
#include <thread>

namespace prefork::config {
namespace {

void fill_machine_defaults(Config& config) {
  if (config.workers == 0) config.workers = int(std::max(1u, std::thread::hardware_concurrency()));
}

// Settings that are each valid but not together; named by key, as the value may come from any
// layer.
void check_redis(const Config& config, std::vector<std::string>& errors) {
  const Redis& redis = config.redis;
  std::string where = config.config_file.empty() ? "" : config.config_file + ": ";
  if (redis.cluster_nodes.empty()) return;
  if (!redis.sentinels.empty()) {
    errors.push_back(where +
                     "redis.sentinels and redis.cluster_nodes are both set: a Redis is either "
                     "watched by sentinels or a cluster, choose one");
  }
  if (redis.key_prefix.find_first_of("{}") != std::string::npos) {
    errors.push_back(where + "redis.key_prefix: " + redis.key_prefix +
                     ": must not contain '{' or '}' in a cluster (braces mark the hash tag)");
  }
  if (redis.db != 0) {
    errors.push_back(where + "redis.db: " + std::to_string(redis.db) +
                     ", but a Redis Cluster has only database 0 (redis.cluster_nodes is set)");
  }
  RedisAddress address;
  if (!redis.url.empty() && parse_redis_url(redis.url, address).ok() && address.db != 0) {
    errors.push_back(where + "redis.url: database " + std::to_string(address.db) +
                     ", but a Redis Cluster has only database 0 (redis.cluster_nodes is set)");
  }
}

// Which listeners speak TLS (README, "HTTPS"), and the TLS settings that need one another. Sets
// Bind::tls and Tls::every_listener.
void check_listener_tls(Config& config, std::vector<std::string>& errors) {
  std::string where = config.config_file.empty() ? "" : config.config_file + ": ";
  Tls& tls = config.tls;
  bool schemes = std::any_of(config.binds.begin(), config.binds.end(), [](const Bind& bind) {
    return bind.scheme != Bind::Scheme::unspecified;
  });
  tls.every_listener = !schemes && !tls.certfile.empty();
  bool any_tls = false;
  for (Bind& bind : config.binds) {
    bind.tls = tls.every_listener || bind.scheme == Bind::Scheme::https;
    any_tls = any_tls || bind.tls;
    if (bind.scheme == Bind::Scheme::https && tls.certfile.empty()) {
      errors.push_back(where + "bind " + quoted(bind.text) +
                       ": https needs certfile (and keyfile, unless the key is in certfile)");
    }
  }
  if (!tls.certfile.empty() && !any_tls) {
    errors.push_back(where +
                     "certfile is set, but no bind says https://: when a bind names a "
                     "scheme, only the https:// ones speak TLS");
  }
  if (!tls.keyfile.empty() && tls.certfile.empty()) {
    errors.push_back(where + "keyfile is set without certfile: the key needs its certificate");
  }
  if (tls.cert_reqs != Tls::ClientCerts::none && tls.ca_certs.empty()) {
    errors.push_back(where + "cert_reqs = \"" +
                     (tls.cert_reqs == Tls::ClientCerts::required ? "required" : "optional") +
                     "\" needs ca_certs: the CAs that client certificates must chain to");
  }
}

// The metrics endpoint's HTTPS needs a certificate and its key; client certificates need both.
void check_metrics_tls(const Config& config, std::vector<std::string>& errors) {
  std::string where = config.config_file.empty() ? "" : config.config_file + ": ";
  const Metrics& metrics = config.metrics;
  constexpr std::string_view both =
      ": HTTPS on the metrics endpoint needs both (PROMETHEUS_SSL_CERTFILE, "
      "PROMETHEUS_SSL_KEYFILE)";
  if (!metrics.ssl_certfile.empty() && metrics.ssl_keyfile.empty()) {
    errors.push_back(where + "metrics.ssl_certfile is set without metrics.ssl_keyfile" +
                     std::string(both));
  }
  if (!metrics.ssl_keyfile.empty() && metrics.ssl_certfile.empty()) {
    errors.push_back(where + "metrics.ssl_keyfile is set without metrics.ssl_certfile" +
                     std::string(both));
  }
  if (!metrics.ssl_certfile.empty()) return;
  auto refuse = [&](std::string_view key, std::string_view env) {
    errors.push_back(where + std::string(key) + " (" + std::string(env) +
                     ") is set without metrics.ssl_certfile: client certificates need HTTPS on "
                     "the metrics endpoint");
  };
  if (!metrics.ssl_client_cafile.empty())
    refuse("metrics.ssl_client_cafile", "PROMETHEUS_SSL_CLIENT_CAFILE");
  if (!metrics.ssl_client_capath.empty())
    refuse("metrics.ssl_client_capath", "PROMETHEUS_SSL_CLIENT_CAPATH");
  if (metrics.ssl_client_auth_required)
    refuse("metrics.ssl_client_auth_required", "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED");
}

// gunicorn's rule: a preloaded app is the master's, and only a new master (USR2) loads new code.
void check_reload(const Config& config, std::vector<std::string>& errors) {
  if (!config.reload || !config.preload_app) return;
  std::string where = config.config_file.empty() ? "" : config.config_file + ": ";
  errors.push_back(where +
                   "reload and preload_app are both set: a preloaded app stays in the master, so "
                   "new workers would run the old code; turn preload_app off (or use USR2)");
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += (text.empty() ? "" : "\n") + line;
  return text;
}

LoadResult build(const CommandLine& command_line, const std::string& file,
                 const char* const* envp) {
  Config config;
  std::vector<std::string> errors;
  if (!file.empty()) apply_file(file, config, errors);
  apply_environment(envp, config, errors);
  apply_command_line(command_line, config, errors);
  config.config_file = file;
  if (errors.empty()) {
    check_redis(config, errors);
    check_listener_tls(config, errors);
    check_metrics_tls(config, errors);
    check_reload(config, errors);
  }
  if (!errors.empty()) return {std::nullopt, joined(errors), exit_usage};
  fill_machine_defaults(config);
  return {std::move(config), "", 0};
}

}  // namespace

LoadResult load(int argc, const char* const* argv, const char* const* envp) {
  CommandLine command_line = parse_command_line(argc, argv);
  if (!command_line.usage.ok()) return {std::nullopt, command_line.usage.message(), exit_usage};
  if (command_line.request == CommandLine::Request::help) return {std::nullopt, help_text(), 0};
  if (command_line.request == CommandLine::Request::version) {
    return {std::nullopt, std::string("prefork ") + version + "\n", 0};
  }
  return build(command_line, command_line.config_file, envp);
}

LoadResult reload(const Config& running, int argc, const char* const* argv,
                  const char* const* envp) {
  CommandLine command_line = parse_command_line(argc, argv);
  if (!command_line.usage.ok()) return {std::nullopt, command_line.usage.message(), exit_usage};
  return build(command_line, running.config_file, envp);
}

}  // namespace prefork::config
