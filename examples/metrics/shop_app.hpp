// An app with metrics of its own, declared through worker.metrics(): they are stored and
// exported the same way as the built-in worker metrics (a .db file or the worker's slot, then
// the master's /metrics). Declare them once per worker, in on_worker_start, and keep the
// children: a request then only adds to a number in memory.
//
//   POST /order?item=book   counts an order (items outside the catalogue count as "other")
//   GET  /                  a greeting
#pragma once

#include <prefork/app.hpp>
#include <prefork/metrics.hpp>
#include <prefork/worker.hpp>

#include <array>
#include <memory>
#include <string_view>

namespace prefork::examples {

class ShopApp : public SyncApp {
 public:
  void on_worker_start(Worker& worker) override {
    metrics::Registry& registry = worker.metrics();
    auto& orders = registry.counter("shop_orders_total", "Orders taken.", {"item"});
    for (std::size_t i = 0; i < catalogue.size(); ++i) orders_[i] = &orders.labels({catalogue[i]});
    other_orders_ = &orders.labels({"other"});
    last_order_ = &registry
                       .gauge("shop_last_order_timestamp_seconds", "When the last order came in.",
                              {}, "mostrecent")
                       .labels({});
  }

  Response respond(const Request& request) override {
    if (request.method() == "POST" && request.path() == "/order") {
      order(item_of(request.query()));
      return Response::view(201, "text/plain; charset=utf-8", "ordered\n");
    }
    if (request.path() == "/") return Response::view(200, "text/plain; charset=utf-8", "shop\n");
    return Response::view(404, "text/plain; charset=utf-8", "Not Found\n");
  }

  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<ShopApp>(); }

 private:
  static constexpr std::array<std::string_view, 3> catalogue = {"book", "pen", "lamp"};

  static std::string_view item_of(std::string_view query) {
    constexpr std::string_view key = "item=";
    return query.starts_with(key) ? query.substr(key.size()) : std::string_view();
  }

  // Label values come from a fixed list, never from the request as sent: bounded cardinality.
  void order(std::string_view item) {
    metrics::CounterChild* counted = other_orders_;
    for (std::size_t i = 0; i < catalogue.size(); ++i) {
      if (item == catalogue[i]) counted = orders_[i];
    }
    counted->inc();
    last_order_->set_to_current_time();
  }

  std::array<metrics::CounterChild*, catalogue.size()> orders_{};
  metrics::CounterChild* other_orders_ = nullptr;
  metrics::GaugeChild* last_order_ = nullptr;
};

}  // namespace prefork::examples
