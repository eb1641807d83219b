// systemd accepts deploy/systemd's units as meson installs them: systemd-analyze verify without
// a warning, and the service's hardening kept (systemd-analyze security). Its own executable:
// without systemd-analyze it is skipped (exit 77), and nothing else with it.
#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;

namespace {

// The unit with ExecStart's program replaced by the built binary: verify requires that it
// exists, and the installed one need not.
std::string with_built_program(std::string unit) {
  const std::string key = "\nExecStart=";
  std::size_t start = unit.find(key);
  REQUIRE(start != std::string::npos);
  start += key.size();
  std::size_t end = unit.find(' ', start);
  REQUIRE(end != std::string::npos);
  return unit.replace(start, end - start, prefork_binary());
}

void require_systemd_analyze() {
  std::string output;
  if (prefork::testing::run_command("command -v systemd-analyze", output) != 0)
    prefork::testing::skip_test("systemd-analyze not found (install Debian's systemd)");
}

}  // namespace

TEST_CASE("systemd-analyze verify accepts prefork.service and prefork.socket without a warning") {
  require_systemd_analyze();
  TempDir dir;
  std::string service =
      dir.write("prefork.service", with_built_program(read_whole(PREFORK_SERVICE_UNIT)));
  std::string socket = dir.write("prefork.socket", read_whole(PREFORK_SOCKET_UNIT));
  std::string output;
  // --man=no: Documentation= names the man page, which is not installed in a build tree.
  int status = prefork::testing::run_command(
      "systemd-analyze verify --man=no " + service + " " + socket, output);
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("systemd-analyze security rates prefork.service's exposure 2.0 or lower") {
  require_systemd_analyze();
  TempDir dir;
  std::string service =
      dir.write("prefork.service", with_built_program(read_whole(PREFORK_SERVICE_UNIT)));
  std::string output;
  int status = prefork::testing::run_command(
      "systemd-analyze security --offline=yes --threshold=20 " + service, output);
  INFO(output);
  CHECK(status == 0);
}
