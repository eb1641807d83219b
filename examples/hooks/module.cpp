// The hooks example as a .so app: `prefork --app path/libhooks.so:hooks --preload`. Without
// preload_app the master does not keep the app's code, and its hooks cannot run.
#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include "logging_hooks.hpp"

PREFORK_APP(hooks, prefork::examples::HooksApp::make);
PREFORK_HOOKS(hooks, prefork::examples::LoggingHooks);
