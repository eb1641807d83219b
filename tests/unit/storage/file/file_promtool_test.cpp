#include <doctest/doctest.h>

#include <prefork/metrics.hpp>

#include "file_fixture.hpp"
#include "metrics/exposition.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"
#include "support/skip.hpp"

using namespace prefork;
using file_test::TemporaryDirectory;

TEST_CASE("promtool check metrics accepts our output") {
  const std::string promtool = prefork::testing::promtool_path(PREFORK_SOURCE_ROOT);
  if (promtool.empty()) {
    prefork::testing::skip_test(
        "promtool not found (install Debian's prometheus, set PREFORK_PROMTOOL, or run "
        "scripts/install-prometheus)");
  }
  TemporaryDirectory directory;
  {
    metrics::Registry registry(std::make_unique<storage::file::FileStore>(directory.path(), "1"));
    registry.counter("app_requests_total", "Requests \\ with\nnewline.", {"method", "status"})
        .labels({"GET", "200"})
        .inc(7);
    registry.gauge("app_workers", "Workers.", {}, "all").set(3);
    registry.gauge("app_inflight_requests", "In flight.", {}, "livesum").set(1);
    registry.gauge("app_last_seen_seconds", "Never set.", {}, "mostrecent");
    registry.histogram("app_request_duration_seconds", "Duration.", {"route"})
        .labels({"/a \"b\""})
        .observe(0.2);
    registry.histogram("app_response_size_bytes", "Size.", {}, {100, 1e6, 1234567}).observe(2e6);
    registry.summary("app_work_seconds", "Work.").observe(1.5);
  }
  storage::file::FileCollector collector(directory.path());
  const std::string text = metrics::render_text(collector.collect());
  TemporaryDirectory output_directory;
  const std::string path = output_directory.path() + "/metrics.txt";
  file_test::write_file(path, text);
  std::string output;
  const int status = file_test::run("'" + promtool + "' check metrics < '" + path + "'", output);
  CHECK_MESSAGE(status == 0, output);
  CHECK_MESSAGE(output.empty(), output);
}
