// conf/prefork.toml: loads, documents every option, and holds the defaults.
#include "load_helpers.hpp"

#include "config/directives.hpp"

#include <cstdlib>
#include <set>
#include <sstream>

using namespace prefork::config;
using namespace prefork::config::testing;

namespace {

std::string shipped_file() {
  const char* root = std::getenv("PREFORK_SOURCE_ROOT");
  REQUIRE_MESSAGE(root != nullptr, "the meson test sets PREFORK_SOURCE_ROOT");
  return std::string(root) + "/conf/prefork.toml";
}

// Keys written in the file, commented out or not, as "table.key" inside [table].
std::set<std::string> documented_keys(const std::string& path) {
  std::ifstream file(path);
  REQUIRE(file);
  std::set<std::string> keys;
  std::string table;
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("# ", 0) == 0) line = line.substr(2);
    if (!line.empty() && line.front() == '[' && line.back() == ']') {
      table = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto equals = line.find(" = ");
    if (equals == std::string::npos || line.find(' ') < equals) continue;
    keys.insert(table.empty() ? line.substr(0, equals) : table + "." + line.substr(0, equals));
  }
  return keys;
}

}  // namespace

TEST_CASE("conf/prefork.toml loads and equals the defaults except bind and workers") {
  Config shipped = loaded({"-c", shipped_file()});
  Config defaults = loaded({});
  CHECK(shipped.workers == 2);
  REQUIRE(shipped.binds.size() == 1);
  CHECK(shipped.binds[0].text == "127.0.0.1:8000");
  CHECK(shipped.app.empty());
  CHECK(shipped.app_config.values().empty());

  CHECK(shipped.worker_class == defaults.worker_class);
  CHECK(shipped.threads == defaults.threads);
  CHECK(shipped.worker_connections == defaults.worker_connections);
  CHECK(shipped.timeout == defaults.timeout);
  CHECK(shipped.graceful_timeout == defaults.graceful_timeout);
  CHECK(shipped.keepalive == defaults.keepalive);
  CHECK(shipped.max_requests == defaults.max_requests);
  CHECK(shipped.max_requests_jitter == defaults.max_requests_jitter);
  CHECK(shipped.backlog == defaults.backlog);
  CHECK(shipped.reuse_port == defaults.reuse_port);
  CHECK(shipped.preload_app == defaults.preload_app);
  CHECK(shipped.pidfile == defaults.pidfile);
  CHECK(shipped.user == defaults.user);
  CHECK(shipped.group == defaults.group);
  CHECK(shipped.umask == defaults.umask);
  CHECK(shipped.chdir == defaults.chdir);
  CHECK(shipped.raw_env == defaults.raw_env);
  CHECK(shipped.daemon == defaults.daemon);
  CHECK(shipped.proc_name == defaults.proc_name);
  CHECK(shipped.loglevel == defaults.loglevel);
  CHECK(shipped.errorlog == defaults.errorlog);
  CHECK(shipped.accesslog == defaults.accesslog);
  CHECK(shipped.access_log_format == defaults.access_log_format);
  CHECK(shipped.log_format == defaults.log_format);
  CHECK(shipped.limits == defaults.limits);
  CHECK(shipped.forwarded_allow_ips == defaults.forwarded_allow_ips);
  CHECK(shipped.secure_scheme_headers == defaults.secure_scheme_headers);
  CHECK(shipped.proxy_protocol == defaults.proxy_protocol);
  CHECK(shipped.proxy_allow_ips == defaults.proxy_allow_ips);
  CHECK(shipped.tls == defaults.tls);
  CHECK(shipped.redis == defaults.redis);
  CHECK(shipped.metrics == defaults.metrics);
}

TEST_CASE("conf/prefork.toml documents every option of the directive table") {
  std::set<std::string> keys = documented_keys(shipped_file());
  for (const Directive& directive : directives()) {
    if (directive.key.empty()) continue;
    CAPTURE(directive.key);
    CHECK(keys.count(std::string(directive.key)) == 1);
  }
  CHECK(keys.count("app") == 1);
}
