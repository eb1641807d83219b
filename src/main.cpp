// The prefork binary: the app comes from the config (`app = "lib.so:name"`), not from a factory.
#include <prefork/app.hpp>

int main(int argc, char** argv) {
  return prefork::run(argc, argv, nullptr);
}
