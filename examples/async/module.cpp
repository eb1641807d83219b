// The async example as a .so app: `prefork --app path/libasync.so:async`.
#include <prefork/app.hpp>

#include "async_app.hpp"

PREFORK_APP(async, prefork::examples::AsyncApp::make);
