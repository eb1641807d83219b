#include <doctest/doctest.h>

#include <prefork/metrics.hpp>

#include "file_fixture.hpp"
#include "metrics/db_region.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"

using namespace prefork;
using file_test::TemporaryDirectory;

TEST_CASE("one file per kind, named as prometheus_client names them") {
  TemporaryDirectory directory;
  metrics::Registry registry(std::make_unique<storage::file::FileStore>(directory.path(), "123"));
  registry.counter("c_total", "C.");
  registry.gauge("g", "G.", {}, "livesum");
  registry.gauge("m", "M.", {}, "mostrecent");
  registry.histogram("h", "H.");
  registry.summary("s", "S.");
  for (const char* name : {"counter_123.db", "gauge_livesum_123.db", "gauge_mostrecent_123.db",
                           "histogram_123.db", "summary_123.db"}) {
    CHECK_MESSAGE(directory.has(name), name);
  }
  CHECK(directory.files().size() == 5);  // no temporary file left behind
}

TEST_CASE("a kind's file is made only when first used") {
  TemporaryDirectory directory;
  metrics::Registry registry(std::make_unique<storage::file::FileStore>(directory.path(), "9"));
  registry.counter("c", "C.", {"l"});
  CHECK(directory.files().empty());
  registry.counter("c2", "C.", {"l"}).labels({"x"}).inc();
  CHECK(directory.has("counter_9.db"));
}

TEST_CASE("a restarted process with the same pid continues its file") {
  TemporaryDirectory directory;
  for (int round = 0; round < 2; ++round) {
    metrics::Registry registry(std::make_unique<storage::file::FileStore>(directory.path(), "5"));
    registry.counter("c", "C.").inc(2);
  }
  storage::file::FileCollector collector(directory.path());
  auto families = collector.collect();
  REQUIRE(families.size() == 1);
  CHECK(families[0].samples[0].value == 4);
}

TEST_CASE("an unwritable directory is a clear error") {
  metrics::Registry registry(
      std::make_unique<storage::file::FileStore>("/nonexistent/prefork-test", "1"));
  CHECK_THROWS_WITH(registry.counter("c", "C."), doctest::Contains("/nonexistent/prefork-test"));
}

TEST_CASE("file names parse into kind and process") {
  metrics::ValueKind kind;
  std::string process;
  REQUIRE(storage::file::parse_db_file_name("gauge_livesum_123.db", kind, process));
  CHECK(kind.token() == "gauge_livesum");
  CHECK(process == "123");
  REQUIRE(storage::file::parse_db_file_name("counter_host-7.db", kind, process));
  CHECK(process == "host-7");
  REQUIRE(storage::file::parse_db_file_name("histogram_archive.db", kind, process));
  CHECK(process == "archive");
  CHECK_FALSE(storage::file::parse_db_file_name("counter.db", kind, process));
  CHECK_FALSE(storage::file::parse_db_file_name("gauge_weird_1.db", kind, process));
  CHECK_FALSE(storage::file::parse_db_file_name("counter_1.db.tmp-3", kind, process));
}
