// A program that is not a prefork server, whose metrics a prefork master serves with its own:
// a cron job importing a partner's orders into the shop of examples/metrics. It counts them in
// the shop's own shop_orders_total, so that the master's /metrics shows one total of orders
// taken on the web (by its workers) and imported (by this job), and adds metrics of its own.
//
// It reads the master's configuration file, so that both use the same Redis, key prefix and
// metrics.instance; its values are written when it ends, and then retired into the instance's
// archive, as a dead worker's are: they outlive the job and its keys.
//
//   shop-import -c examples/standalone-metrics/shop.toml book pen book
//
// Exit status: 0 when the metrics were stored, 1 when they were not, 2 for a usage error.
#include <prefork/metrics.hpp>
#include <prefork/redis_storage.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

using prefork::redis::RedisSettings;
using prefork::redis::RedisStorageManager;

// The shop's catalogue; anything else counts as "other", as in the shop app: label values come
// from a fixed list, never from the input as given.
std::string_view item_label(std::string_view item) {
  for (std::string_view known : {"book", "pen", "lamp"}) {
    if (item == known) return known;
  }
  return "other";
}

struct Arguments {
  std::string config_file;
  std::vector<std::string> items;
};

bool parse(int argc, char** argv, Arguments& arguments) {
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "-c" && i + 1 < argc) {
      arguments.config_file = argv[++i];
    } else if (argument.starts_with("-")) {
      return false;
    } else {
      arguments.items.emplace_back(argument);
    }
  }
  return true;
}

// The same names, help and labels as the shop app's (examples/metrics/shop_app.hpp): series of
// one family from several processes are added up by the master.
void record_import(prefork::metrics::Registry& registry, const std::vector<std::string>& items) {
  auto started = std::chrono::steady_clock::now();
  auto& orders = registry.counter("shop_orders_total", "Orders taken.", {"item"});
  auto& last_order = registry.gauge("shop_last_order_timestamp_seconds",
                                    "When the last order came in.", {}, "mostrecent");
  for (const std::string& item : items) {
    orders.labels({item_label(item)}).inc();
    last_order.set_to_current_time();
  }
  registry.counter("shop_import_runs_total", "Runs of the order import.").inc();
  registry.histogram("shop_import_seconds", "How long an import took.")
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace

int main(int argc, char** argv) {
  Arguments arguments;
  if (!parse(argc, argv, arguments)) {
    std::fprintf(stderr, "usage: %s [-c prefork.toml] ITEM...\n", argv[0]);
    return 2;
  }
  try {
    RedisStorageManager manager(arguments.config_file.empty()
                                    ? RedisSettings::from_environment()
                                    : RedisSettings::from_config_file(arguments.config_file));
    if (!manager.setup()) {
      std::fprintf(stderr, "metrics: %s\n", manager.last_error().c_str());
      return 1;
    }
    record_import(manager.registry(), arguments.items);
    if (!manager.teardown()) {
      std::fprintf(stderr, "metrics: %s\n", manager.last_error().c_str());
      return 1;
    }
    std::printf("imported %zu orders\n", arguments.items.size());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "metrics: %s\n", error.what());
    return 1;
  }
}
