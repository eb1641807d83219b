// promtool accepts what the master's /metrics serves. Its own executable: without promtool it
// is skipped (exit 77), and nothing else with it.
#include <doctest/doctest.h>

#include "metrics_support.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;

TEST_CASE("promtool check metrics accepts /metrics") {
  std::string promtool = prefork::testing::promtool_path(PREFORK_SOURCE_ROOT);
  if (promtool.empty()) {
    prefork::testing::skip_test(
        "promtool not found (install Debian's prometheus, set PREFORK_PROMTOOL, or run "
        "scripts/install-promtool)");
  }
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 2);
  REQUIRE(send_requests(prefork.port, 10) == 10);
  std::string text = scrape(prefork.metrics);
  REQUIRE_FALSE(text.empty());
  std::string path = directory.write("metrics.txt", text);
  std::string output;
  int status = prefork::testing::run_command(promtool + " check metrics < " + path, output);
  INFO(output);
  CHECK(status == 0);
}
