// An app built twice, as libversion_v1.so and libversion_v2.so, answering "/" with its BODY:
// the body says which build a worker loaded (a HUP after a new .so was deployed).
#include <prefork/app.hpp>

#include <memory>

namespace {

class VersionApp : public prefork::SyncApp {
 public:
  prefork::Response respond(const prefork::Request& request) override {
    if (request.path() == "/") return prefork::Response::text(200, BODY "\n");
    return prefork::Response::text(404, "Not Found\n");
  }
};

std::unique_ptr<prefork::App> make_version(const prefork::AppConfig&) {
  return std::make_unique<VersionApp>();
}

}  // namespace

PREFORK_APP(version, make_version);
