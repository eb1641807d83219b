// The hooks example linked statically: the app's factory and its hooks are handed to
// prefork::run.
#include <prefork/app.hpp>
#include <prefork/hooks.hpp>

#include "logging_hooks.hpp"

int main(int argc, char** argv) {
  prefork::examples::LoggingHooks hooks;
  return prefork::run(argc, argv, prefork::examples::HooksApp::make, hooks);
}
