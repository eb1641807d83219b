#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <prefork/metrics.hpp>

#include "metrics/change_tracker.hpp"
#include "metrics/slot.hpp"

using namespace prefork::metrics;

namespace {

const ProcessValues* find_kind(const std::vector<ProcessValues>& groups, const char* token) {
  for (const auto& group : groups) {
    if (group.kind.token() == token) return &group;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the master reads a slot after the worker that wrote it was killed") {
  const int slot = create_slot();
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    Registry registry(std::make_unique<SlotStore>(slot, std::to_string(getpid())));
    auto& requests = registry.counter("requests_total", "Requests.", {"method"});
    auto& inflight = registry.gauge("inflight", "In flight.", {}, "livesum");
    for (int i = 0; i < 1000; ++i) requests.labels({"GET"}).inc();
    inflight.set(3);
    // Many entries, so that the slot grows beyond its first 64 KiB inside the child.
    auto& wide = registry.counter("wide_total", "Wide.", {"n"});
    for (int i = 0; i < 2000; ++i) wide.labels({std::to_string(i)}).inc();
    kill(getpid(), SIGKILL);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));

  SlotContents contents;
  REQUIRE(read_slot(slot, "w1", contents).ok());
  const std::vector<ProcessValues>& values = contents.values;
  const ProcessValues* counters = find_kind(values, "counter");
  REQUIRE(counters != nullptr);
  CHECK(counters->process == "w1");
  REQUIRE(counters->values.size() == 2001);
  CHECK(counters->values[0].key ==
        R"(["requests", "requests_total", {"method": "GET"}, "Requests."])");
  CHECK(counters->values[0].value == 1000);
  const ProcessValues* gauges = find_kind(values, "gauge_livesum");
  REQUIRE(gauges != nullptr);
  CHECK(gauges->values[0].value == 3);
  close(slot);
}

TEST_CASE("a slot keeps the storage client id apart from the values") {
  const int slot = create_slot();
  {
    auto store = std::make_unique<SlotStore>(dup(slot), "3");
    SlotStore* slot_store = store.get();
    Registry registry(std::move(store));
    registry.counter("hits_total", "Hits.").inc();
    slot_store->set_storage_client(42);
    CHECK(registry.store().snapshot().size() == 1);
  }
  SlotContents contents;
  REQUIRE(read_slot(slot, "3", contents).ok());
  CHECK(contents.storage_client == 42);
  REQUIRE(contents.values.size() == 1);
  CHECK(contents.values[0].kind.token() == "counter");
  close(slot);
}

TEST_CASE("the change tracker returns what changed since the last call") {
  Registry registry(std::make_unique<SlotStore>(create_slot(), "7"));
  auto& hits = registry.counter("hits_total", "Hits.");
  auto& level = registry.gauge("level", "Level.", {}, "max");

  ChangeTracker tracker;
  auto first = tracker.changes(registry.store());
  CHECK(first.size() == 2);  // both, at 0, on the first call

  CHECK(tracker.changes(registry.store()).empty());
  hits.inc(2);
  auto second = tracker.changes(registry.store());
  REQUIRE(second.size() == 1);
  CHECK(second[0].kind.token() == "counter");
  CHECK(second[0].process == "7");
  REQUIRE(second[0].values.size() == 1);
  CHECK(second[0].values[0].value == 2);

  level.set(-0.0);  // differs from 0.0 bit for bit
  auto third = tracker.changes(registry.store());
  REQUIRE(third.size() == 1);
  CHECK(third[0].kind.token() == "gauge_max");

  tracker.reset();
  CHECK(tracker.changes(registry.store()).size() == 2);
}

TEST_CASE("a slot entry without a kind token is reported, the rest is read") {
  const int slot = create_slot();
  {
    DbRegion region(dup(slot), "slot");
    region.cell("counter [\"a\", \"a_total\", {}, \"\"]")[0] = 1;
    region.cell("nonsense")[0] = 2;
  }
  SlotContents contents;
  CHECK(read_slot(slot, "1", contents).message().find("without a kind token") != std::string::npos);
  REQUIRE(contents.values.size() == 1);
  CHECK(contents.values[0].values[0].value == 1);
  close(slot);
}
