#include "app/loader.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace prefork::app {
namespace {

struct Spec {
  std::string path;
  std::string name;
};

Status split_spec(const std::string& spec, Spec& parts) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    return Status::error("app \"" + spec + "\": expected \"path/libfoo.so:name\"");
  }
  parts.path = spec.substr(0, colon);
  parts.name = spec.substr(colon + 1);
  return {};
}

std::string abi_text(std::uint32_t version) {
  return std::to_string(version);
}

// Hooks are optional: no symbol is no hooks, but hooks of another ABI are refused like the app.
Status find_hooks(void* handle, const std::string& spec, const std::string& name, LoadedApp& app) {
  std::string symbol = "prefork_hooks_" + name;
  auto* descriptor = static_cast<const HooksDescriptor*>(dlsym(handle, symbol.c_str()));
  if (!descriptor) return {};
  if (descriptor->abi_version != abi_version) {
    return Status::error("app \"" + spec + "\": " + symbol + " built for prefork ABI version " +
                         abi_text(descriptor->abi_version) + ", but this prefork has ABI version " +
                         abi_text(abi_version));
  }
  app.hooks = descriptor->make;
  app.has_hooks = true;
  return {};
}

}  // namespace

Result<std::string> app_name(const std::string& spec) {
  Spec parts;
  if (Status split = split_spec(spec, parts); !split.ok()) return split;
  return parts.name;
}

LoadOutcome open_app(const std::string& spec) {
  LoadOutcome outcome;
  Spec parts;
  outcome.status = split_spec(spec, parts);
  if (!outcome.status) return outcome;
  struct stat info;
  if (stat(parts.path.c_str(), &info) != 0) {
    outcome.status = Status::error(
        "app \"" + spec + "\": " +
        (errno == ENOENT ? "file not found: " + parts.path
                         : "cannot read " + parts.path + ": " + std::strerror(errno)));
    return outcome;
  }
  // Without a slash dlopen searches the library path instead of the file the user named.
  std::string path = parts.path.find('/') == std::string::npos ? "./" + parts.path : parts.path;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    outcome.status = Status::error("app \"" + spec + "\": cannot load: " + dlerror());
    return outcome;
  }
  std::string symbol = "prefork_app_" + parts.name;
  auto* descriptor = static_cast<const AppDescriptor*>(dlsym(handle, symbol.c_str()));
  if (!descriptor) {
    outcome.status =
        Status::error("app \"" + spec + "\": symbol " + symbol + " not found in " + parts.path +
                      " (is PREFORK_APP(" + parts.name + ", ...) in the library?)");
    dlclose(handle);
    return outcome;
  }
  if (descriptor->abi_version != abi_version) {
    outcome.status =
        Status::error("app \"" + spec + "\": built for prefork ABI version " +
                      abi_text(descriptor->abi_version) + ", but this prefork has ABI version " +
                      abi_text(abi_version) + "; rebuild the app against this prefork");
    dlclose(handle);
    return outcome;
  }
  if (!descriptor->factory) {
    outcome.status = Status::error("app \"" + spec + "\": " + symbol + " has no factory");
    dlclose(handle);
    return outcome;
  }
  outcome.app.factory = descriptor->factory;
  outcome.app.name = parts.name;
  outcome.status = find_hooks(handle, spec, parts.name, outcome.app);
  outcome.app.spec = spec;
  return outcome;
}

LoadOutcome resolve(const std::string& spec, AppFactory linked_factory) {
  if (!spec.empty()) return open_app(spec);
  LoadOutcome outcome;
  if (!linked_factory) {
    outcome.not_configured = true;
    outcome.status = Status::error(
        "app: no application: set app = \"path/libfoo.so:name\" in the config file or pass --app");
    return outcome;
  }
  outcome.app.factory = linked_factory;
  return outcome;
}

Result<std::unique_ptr<App>> make(const LoadedApp& loaded, const AppConfig& config) {
  try {
    std::unique_ptr<App> app = loaded.factory(config);
    if (!app) return Status::error("the app factory returned no app");
    return app;
  } catch (const std::exception& error) {
    return Status::error(std::string("the app factory failed: ") + error.what());
  } catch (...) {
    return Status::error("the app factory failed with an unknown exception");
  }
}

}  // namespace prefork::app
