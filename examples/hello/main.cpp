// The hello example linked statically: the app's factory is handed to prefork::run.
#include <prefork/app.hpp>

#include "hello_app.hpp"

int main(int argc, char** argv) {
  return prefork::run(argc, argv, prefork::examples::HelloApp::make);
}
