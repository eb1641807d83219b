// An app built against the previous ABI (4: Worker::post and offload took std::function, and a
// Request had no worker): the loader must refuse it, saying how to fix it.
#include <prefork/app.hpp>

namespace {
std::unique_ptr<prefork::App> make_nothing(const prefork::AppConfig&) {
  return nullptr;
}
}  // namespace

extern "C" __attribute__((visibility("default")))
const prefork::AppDescriptor prefork_app_old_abi{4, "old_abi", make_nothing};
