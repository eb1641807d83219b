// The environment layer: the exporter's variable names (REDIS_*, PROMETHEUS_*, GUNICORN_WORKERS).
#include "config/layers.hpp"

#include <cstring>

namespace prefork::config {
namespace {

const char* lookup(const char* const* envp, std::string_view name) {
  if (!envp) return nullptr;
  for (const char* const* entry = envp; *entry; ++entry) {
    std::string_view text(*entry);
    if (text.size() > name.size() && text.substr(0, name.size()) == name &&
        text[name.size()] == '=') {
      return *entry + name.size() + 1;  // the first definition wins, as with getenv
    }
  }
  return nullptr;
}

}  // namespace

void apply_environment(const char* const* envp, Config& config, std::vector<std::string>& errors) {
  for (const Directive& directive : directives()) {
    if (directive.env.empty()) continue;
    const char* value = lookup(envp, directive.env);
    if (!value) continue;
    if (Status status = directive.apply(config, Input::text(value)); !status.ok()) {
      errors.push_back("environment: " + std::string(directive.env) + ": " + status.message());
    }
  }
}

}  // namespace prefork::config
