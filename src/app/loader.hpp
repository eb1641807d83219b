// Finds the App factory: a PREFORK_APP symbol in a .so, or the factory linked into the program.
#pragma once

#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include <memory>
#include <string>

#include "core/result.hpp"

namespace prefork::app {

// A resolved app. Only workers and a preloading master open the .so (open_app); its handle is
// never closed, as the code is in use for the life of the process. A master that does not
// preload holds only the spec: a library it mapped would be handed, by path, to every worker it
// forks later, so a rebuilt file at the same path would never be served.
struct LoadedApp {
  AppFactory factory = nullptr;  // null: not opened in this process; workers open spec
  std::string name;              // the symbol's name for a .so app, "" for a linked-in factory
  std::string spec;              // the `app` setting, "" for a linked-in factory
  HooksFactory hooks = nullptr;  // the .so's PREFORK_HOOKS, when it has them
  bool has_hooks = false;        // it has them: what a probe reports, having no pointer to give
};

struct LoadOutcome {
  LoadedApp app;
  Status status;
  // No app was named anywhere: a configuration error (exit 2), not a load failure (exit 3).
  bool not_configured = false;
  bool ok() const { return status.ok(); }
};

// spec is the `app` setting ("path/libfoo.so:name"); when empty, linked_factory is used. A .so
// is opened in this process.
LoadOutcome resolve(const std::string& spec, AppFactory linked_factory);

// dlopen, the PREFORK_APP symbol and its ABI version: the .so named by spec, opened here.
LoadOutcome open_app(const std::string& spec);

// The name part of a spec that open_app accepts ("path/libfoo.so:name"), or an error.
Result<std::string> app_name(const std::string& spec);

// Calls the factory, turning exceptions and null results into an error.
Result<std::unique_ptr<App>> make(const LoadedApp& loaded, const AppConfig& config);

}  // namespace prefork::app
