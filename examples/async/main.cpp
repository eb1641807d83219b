// The async example linked statically: the app's factory is handed to prefork::run.
#include <prefork/app.hpp>

#include "async_app.hpp"

int main(int argc, char** argv) {
  return prefork::run(argc, argv, prefork::examples::AsyncApp::make);
}
