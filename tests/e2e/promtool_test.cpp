// promtool accepts what the master's /metrics serves, and deploy/prometheus's files. Its own
// executable: without promtool it is skipped (exit 77), and nothing else with it.
#include <doctest/doctest.h>

#include <string>

#include "metrics_support.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;

namespace {

std::string promtool_or_skip() {
  std::string promtool = prefork::testing::promtool_path(PREFORK_SOURCE_ROOT);
  if (promtool.empty()) {
    prefork::testing::skip_test(
        "promtool not found (install Debian's prometheus, set PREFORK_PROMTOOL, or run "
        "scripts/install-prometheus)");
  }
  return promtool;
}

}  // namespace

TEST_CASE("promtool check metrics accepts /metrics") {
  std::string promtool = promtool_or_skip();
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

TEST_CASE("promtool check config accepts deploy/prometheus/prefork.yml, check rules its rules") {
  std::string promtool = promtool_or_skip();
  std::string output;
  int status = prefork::testing::run_command(
      promtool + " check config " PREFORK_SOURCE_ROOT "/deploy/prometheus/prefork.yml", output);
  INFO(output);
  CHECK(status == 0);
  CHECK(output.find("SUCCESS: 1 rule files found") != std::string::npos);
  std::string rules_output;
  status = prefork::testing::run_command(
      promtool + " check rules " PREFORK_SOURCE_ROOT "/deploy/prometheus/prefork.rules.yml",
      rules_output);
  INFO(rules_output);
  CHECK(status == 0);
}

TEST_CASE("promtool test rules: each alert fires when it should, and only then") {
  std::string promtool = promtool_or_skip();
  std::string output;
  int status = prefork::testing::run_command(
      promtool + " test rules " PREFORK_SOURCE_ROOT "/tests/e2e/prefork.rules.test.yml", output);
  INFO(output);
  CHECK(status == 0);
}
