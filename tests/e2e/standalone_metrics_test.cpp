// examples/standalone-metrics: a program that is not a prefork server records metrics into the
// Redis of a running prefork master (the shop of examples/metrics), and the master's /metrics
// serves them summed with its workers'. When the program ends its values are retired into the
// instance's archive: they stay after its keys are gone, and a second run adds to them.
#include <doctest/doctest.h>

#include <csignal>

#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "metrics_support.hpp"
#include "support/certificates.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::Certificates;
using prefork::testing::run_command;

namespace {

// The import, run to its end: its exit code (its output goes to the test's log).
int run_import(const std::string& config, const std::string& items) {
  std::string output;
  int status = run_command(built_path("SHOP_IMPORT") + " -c " + config + " " + items, output);
  INFO(output);
  CHECK(output.find("imported") != std::string::npos);
  return status;
}

// The processes in the instance's index, as the exporter's key layout names them.
std::set<std::string> indexed_processes(const RedisServer& redis) {
  std::set<std::string> processes;
  RedisServer::Reply reply = redis.command({"SMEMBERS", "gunicorn:processes"});
  if (!reply) return processes;
  for (std::size_t i = 0; i < reply->elements; ++i) processes.insert(reply->element[i]->str);
  return processes;
}

std::set<std::string> master_processes(const Server& server) {
  std::set<std::string> processes{"shop-archive", "shop-" + std::to_string(server.pid())};
  for (pid_t worker : server.workers()) processes.insert("shop-" + std::to_string(worker));
  return processes;
}

int post_orders(int port, const std::string& item, int count) {
  int created = 0;
  for (int i = 0; i < count; ++i) {
    if (http_request(port, "POST", "/order?item=" + item).status == 201) ++created;
  }
  return created;
}

// The shop served by the prefork binary on a free port, with the config the import reads too.
void check_import_adds_to_the_shop(const RedisServer& redis, const std::string& config) {
  Server server(prefork_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "2", "--app",
                                   built_path("SHOP_MODULE") + ":shop"});
  const int port = server.serving_port(2);
  REQUIRE(port > 0);
  const int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  REQUIRE(post_orders(port, "book", 2) == 2);
  CHECK(eventually(
      [&] { return sum_of(scrape(metrics), "shop_orders_total", "item=\"book\"") == 2; }));

  REQUIRE(run_import(config, "book pen book") == 0);
  std::string text;
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "shop_orders_total", "item=\"book\"") == 4;
  }));
  INFO(text);
  CHECK(sum_of(text, "shop_orders_total", "item=\"pen\"") == 1);
  CHECK(sum_of(text, "shop_import_runs_total") == 1);
  CHECK(sum_of(text, "shop_import_seconds_count") == 1);
  CHECK(sum_of(text, "shop_last_order_timestamp_seconds") > 0);
  // The import is retired: no process of it is left to expire, its totals are the archive's.
  CHECK(eventually([&] { return indexed_processes(redis) == master_processes(server); }));
  CHECK(redis_key_count(redis, "gunicorn:counter:shop-archive:metric:*") > 0);

  REQUIRE(run_import(config, "lamp") == 0);
  REQUIRE(post_orders(port, "book", 1) == 1);
  CHECK(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "shop_import_runs_total") == 2 &&
           sum_of(text, "shop_orders_total", "item=\"book\"") == 5;
  }));
  CHECK(sum_of(text, "shop_orders_total", "item=\"lamp\"") == 1);
  CHECK(sum_of(text, "shop_orders_total") == 7);
  server.signal(SIGTERM);
  CHECK(server.wait_exit(30s) == 0);
}

}  // namespace

TEST_CASE("a standalone program's metrics reach the master's /metrics, summed with its own") {
  RedisServer redis;
  TempDir directory;
  const std::string config =
      directory.write("shop.toml", redis_config(redis, "instance = \"shop\"\n"));
  check_import_adds_to_the_shop(redis, config);
}

TEST_CASE("the same over TLS to Redis") {
  Certificates certificates;
  certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
  RedisServer redis(RedisServer::Tls::issued(certificates, "server"));
  TempDir directory;
  const std::string config = directory.write(
      "shop.toml", redis_url_config("rediss://127.0.0.1:" + std::to_string(redis.tls_port()) + "/0",
                                    "ssl_ca_certs = \"" + certificates.ca() + "\"\n") +
                       "instance = \"shop\"\n");
  check_import_adds_to_the_shop(redis, config);
}

TEST_CASE("the import says why when it cannot store its metrics") {
  TempDir directory;
  const std::string config =
      directory.write("shop.toml", "[redis]\nenabled = true\nhost = \"127.0.0.1\"\nport = " +
                                       std::to_string(prefork::testing::unused_port()) +
                                       "\nconnect_timeout = 1\n[metrics]\ninstance = \"shop\"\n");
  std::string output;
  CHECK(run_command(built_path("SHOP_IMPORT") + " -c " + config + " book", output) == 1);
  INFO(output);
  CHECK(output.find("metrics: ") != std::string::npos);
}
