// A .so app built by tests/install/install_test.cpp against the installed headers only
// (pkg-config --cflags prefork); its metric's Registry comes from the prefork binary that loads it.
#include <prefork/app.hpp>
#include <prefork/metrics.hpp>
#include <prefork/worker.hpp>

#include <memory>

namespace {

class InstalledModule : public prefork::SyncApp {
 public:
  void on_worker_start(prefork::Worker& worker) override {
    requests_ =
        &worker.metrics().counter("installed_module_requests_total", "Requests.", {}).labels({});
  }

  prefork::Response respond(const prefork::Request&) override {
    requests_->inc();
    return prefork::Response::text(200, "installed module\n");
  }

 private:
  prefork::metrics::CounterChild* requests_ = nullptr;
};

std::unique_ptr<prefork::App> make(const prefork::AppConfig&) {
  return std::make_unique<InstalledModule>();
}

}  // namespace

PREFORK_APP(installed, make);
