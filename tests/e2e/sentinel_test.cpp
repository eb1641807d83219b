// prefork on Redis Sentinel (one master, one replica, three sentinels) under load: a failover
// by SENTINEL FAILOVER and one by SIGKILL of the master cost no request and no count.
#include <doctest/doctest.h>

#include <optional>

#include "metrics_support.hpp"
#include "support/eventually.hpp"
#include "support/sentinel_group.hpp"

using namespace prefork::e2e;
using namespace std::chrono_literals;
using prefork::testing::eventually;
using prefork::testing::SentinelGroup;

namespace {

std::string sentinel_config(const SentinelGroup& group) {
  std::string sentinels;
  for (const std::string& address : group.sentinel_addresses())
    sentinels += (sentinels.empty() ? "\"" : ", \"") + address + "\"";
  return "[redis]\nenabled = true\nsentinels = [" + sentinels + "]\nsentinel_master = \"" +
         SentinelGroup::name +
         "\"\nconnect_timeout = 1\ncommand_timeout = 1\n"
         "[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\nflush_interval_ms = 50\n";
}

std::string health_status(int metrics) {
  Reply health = http_get(metrics, "/health");
  std::size_t at = health.body.find("\"status\": \"");
  if (at == std::string::npos) return "";
  at += 11;
  return health.body.substr(at, health.body.find('"', at) - at);
}

// Load on two workers across the failover; afterwards the sum of requests_total is the number
// of answered requests, and no scrape ever saw it go down.
struct Deployment {
  SentinelGroup group;
  TempDir directory;
  Prefork prefork{directory.write("prefork.toml", sentinel_config(group)), 2};
  Load load{prefork.port, 2};
  std::optional<ScrapeWatch> watch;

  Deployment() {
    REQUIRE(eventually([&] { return load.answered() > 200; }));
    REQUIRE(health_status(prefork.metrics) == "ok");
    watch.emplace(prefork.metrics, "gunicorn_worker_requests_total");
    REQUIRE(eventually([&] { return watch->scrapes() > 5; }));
  }

  void check_nothing_lost() {
    REQUIRE(eventually([&, goal = load.answered() + 200] { return load.answered() > goal; }));
    CHECK(eventually([&] { return health_status(prefork.metrics) == "ok"; }));
    check_counted_exactly(prefork.metrics, load, *watch);
    CHECK(load.failed() == 0);
  }
};

}  // namespace

TEST_CASE("SENTINEL FAILOVER under load: no request fails, requests_total ends exact") {
  Deployment deployment;
  int old_master = deployment.group.master().port();
  deployment.group.failover();
  MESSAGE("master ", old_master, " failed over to ", deployment.group.master().port());
  deployment.check_nothing_lost();
}

TEST_CASE(
    "the master killed under load: /health is not ok until the replica is promoted, "
    "then nothing is lost") {
  Deployment deployment;
  deployment.group.kill_master();
  // The sentinels wait down-after-milliseconds (1 s) before they even agree it is down.
  CHECK(eventually([&] { return health_status(deployment.prefork.metrics) != "ok"; }, 1000ms));
  deployment.group.wait_for_promotion();
  deployment.check_nothing_lost();
}
