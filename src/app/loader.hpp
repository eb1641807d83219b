// Finds the App factory: a PREFORK_APP symbol in a .so, or the factory linked into the program.
#pragma once

#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include <memory>
#include <string>

#include "core/result.hpp"

namespace prefork::app {

// A resolved app. The .so stays loaded for the life of the process (its code is in use by every
// worker forked afterwards), so the handle is deliberately never closed.
struct LoadedApp {
  AppFactory factory = nullptr;
  std::string name;              // the symbol's name for a .so app, "" for a linked-in factory
  HooksFactory hooks = nullptr;  // the .so's PREFORK_HOOKS, when it has them
};

struct LoadOutcome {
  LoadedApp app;
  Status status;
  // No app was named anywhere: a configuration error (exit 2), not a load failure (exit 3).
  bool not_configured = false;
  bool ok() const { return status.ok(); }
};

// spec is the `app` setting ("path/libfoo.so:name"); when empty, linked_factory is used.
LoadOutcome resolve(const std::string& spec, AppFactory linked_factory);

// Calls the factory, turning exceptions and null results into an error.
Result<std::unique_ptr<App>> make(const LoadedApp& loaded, const AppConfig& config);

}  // namespace prefork::app
