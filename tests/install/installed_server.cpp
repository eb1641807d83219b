// A server with its app linked in, built by tests/install/install_test.cpp from the installed
// files only (pkg-config --cflags --libs prefork).
#include <prefork/app.hpp>

#include <memory>

namespace {

class InstalledServer : public prefork::SyncApp {
 public:
  prefork::Response respond(const prefork::Request&) override {
    return prefork::Response::text(200, "installed server\n");
  }
};

std::unique_ptr<prefork::App> make(const prefork::AppConfig&) {
  return std::make_unique<InstalledServer>();
}

}  // namespace

int main(int argc, char** argv) {
  return prefork::run(argc, argv, make);
}
