// prometheus_client's own text parser (the copy in ../shared/pyclient, or PREFORK_PYCLIENT)
// reads what the master's /metrics serves, process_* and prefork_build_info included, with
// prometheus_client's family names and types. Its own executable: without the client or
// python3 it is skipped (exit 77), and nothing else with it.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <prefork/version.hpp>
#include <string>

#include "metrics_support.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;

namespace {

std::string pyclient_or_skip() {
  const char* configured = getenv("PREFORK_PYCLIENT");
  std::string path = configured && *configured
                         ? configured
                         : std::string(PREFORK_SOURCE_ROOT) + "/../shared/pyclient";
  struct stat info = {};
  std::string output;
  if (stat((path + "/prometheus_client").c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
      prefork::testing::run_command("python3 -c 'import sys'", output) != 0) {
    prefork::testing::skip_test(
        "prometheus_client not found (set PREFORK_PYCLIENT to a client_python checkout, default "
        "<source root>/../shared/pyclient) or python3 missing");
  }
  return path;
}

bool has_line(const std::string& parsed, const std::string& start) {
  return parsed.find("\n" + start) != std::string::npos || parsed.starts_with(start);
}

}  // namespace

TEST_CASE("prometheus_client parses /metrics: process_* and prefork_build_info as it names them") {
  std::string client = pyclient_or_skip();
  TempDir directory;
  std::string config = directory.write("prefork.toml", file_config());
  Prefork prefork(config, 1);
  auto& [server, port, metrics] = prefork;
  REQUIRE(send_requests(port, 10) == 10);
  pid_t worker = server.workers().front();
  std::string text;
  REQUIRE(eventually([&] {
    text = scrape(metrics);
    return sum_of(text, "process_max_fds", "pid=\"" + std::to_string(worker) + "\"") > 0;
  }));
  std::string path = directory.write("metrics.txt", text);

  std::string parsed;
  int status =
      prefork::testing::run_command("PYTHONPATH='" + client + "' python3 '" + PREFORK_SOURCE_ROOT +
                                        "/tests/e2e/parse_exposition.py' '" + path + "'",
                                    parsed);
  INFO(parsed.substr(0, 4000));
  REQUIRE(status == 0);
  // prometheus_client names a counter's family without _total.
  CHECK(has_line(parsed,
                 "process_cpu_seconds counter process_cpu_seconds_total {worker_id=master} "));
  CHECK(has_line(parsed, "process_cpu_seconds counter process_cpu_seconds_total {worker_id=1} "));
  for (const char* gauge : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                            "process_start_time_seconds", "process_open_fds", "process_max_fds"}) {
    for (auto [pid, id] : {std::pair{server.pid(), "master"}, std::pair{worker, "1"}}) {
      CHECK(has_line(parsed, std::string(gauge) + " gauge " + gauge +
                                 " {pid=" + std::to_string(pid) + ",worker_id=" + id + "} "));
    }
  }
  CHECK(has_line(parsed, std::string("prefork_build_info gauge prefork_build_info {abi=") +
                             std::to_string(prefork::abi_version) + ",version=" + prefork::version +
                             "} 1.0\n"));
}
