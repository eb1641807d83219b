// A module that claims another ABI version: the loader must refuse it.
#include <prefork/app.hpp>

namespace {
std::unique_ptr<prefork::App> make_nothing(const prefork::AppConfig&) {
  return nullptr;
}
}  // namespace

extern "C" __attribute__((visibility("default")))
const prefork::AppDescriptor prefork_app_wrong_abi{999, "wrong_abi", make_nothing};
