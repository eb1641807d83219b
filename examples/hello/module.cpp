// The hello example as a .so app: `prefork --app path/libhello.so:hello`.
#include <prefork/app.hpp>

#include "hello_app.hpp"

PREFORK_APP(hello, prefork::examples::HelloApp::make);
