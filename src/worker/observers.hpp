// Several request observers behind the single pointer a Boot holds: metrics and the access log
// both watch every request.
#pragma once

#include <vector>

#include "worker/observer.hpp"

namespace prefork::worker {

class ObserverList final : public RequestObserver {
 public:
  void add(RequestObserver& observer) { observers_.push_back(&observer); }

  // What Boot::observer should hold: null when nobody observes (the request path then measures
  // nothing), the observer itself when there is one, else this list.
  RequestObserver* entry() {
    if (observers_.empty()) return nullptr;
    if (observers_.size() == 1) return observers_.front();
    return this;
  }

  void on_request(const RequestRecord& record) override {
    for (RequestObserver* observer : observers_) observer->on_request(record);
  }
  void on_handler_error(std::string_view method, std::string_view route,
                        std::string_view error_type) override {
    for (RequestObserver* observer : observers_) {
      observer->on_handler_error(method, route, error_type);
    }
  }

 private:
  std::vector<RequestObserver*> observers_;
};

}  // namespace prefork::worker
