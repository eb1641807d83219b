#include <doctest/doctest.h>

#include <prefork/metrics.hpp>

#include <cmath>
#include <thread>

#include "metrics/aggregate.hpp"
#include "metrics/exposition.hpp"
#include "metrics/slot.hpp"

using namespace prefork::metrics;

namespace {

Registry make_registry() {
  return Registry(std::make_unique<SlotStore>(create_slot(), "1"));
}

std::string rendered(Registry& registry) {
  return render_text(aggregate(registry.store().snapshot()));
}

}  // namespace

TEST_CASE("stored samples and keys are prometheus_client's") {
  Registry registry(std::make_unique<SlotStore>(create_slot(), "1"));
  registry.counter("requests_total", "Requests.", {"method"}).labels({"GET"}).inc(3);
  registry.gauge("temperature", "T.").set(21.5);
  registry.summary("size", "S.").observe(10);
  registry.histogram("latency", "L.", {}, {0.1, 1}).observe(0.5);

  std::vector<std::string> keys;
  for (const auto& group : registry.store().snapshot()) {
    for (const auto& value : group.values) keys.push_back(group.kind.token() + " " + value.key);
  }
  CHECK(keys == std::vector<std::string>{
                    R"(counter ["requests", "requests_total", {"method": "GET"}, "Requests."])",
                    R"(gauge_all ["temperature", "temperature", {}, "T."])",
                    R"(summary ["size", "size_count", {}, "S."])",
                    R"(summary ["size", "size_sum", {}, "S."])",
                    R"(histogram ["latency", "latency_sum", {}, "L."])",
                    R"(histogram ["latency", "latency_bucket", {"le": "0.1"}, "L."])",
                    R"(histogram ["latency", "latency_bucket", {"le": "1.0"}, "L."])",
                    R"(histogram ["latency", "latency_bucket", {"le": "+Inf"}, "L."])",
                });
}

TEST_CASE("histogram observe fills the first bucket whose bound is not smaller") {
  auto registry = make_registry();
  auto& histogram = registry.histogram("h", "H.", {"x"}, {1, 2});
  auto& child = histogram.labels({"a"});
  child.observe(1);    // le=1
  child.observe(1.5);  // le=2
  child.observe(99);   // +Inf
  child.observe(NAN);  // no bucket, sum NaN
  CHECK(child.bucket(0) == 1);
  CHECK(child.bucket(1) == 1);
  CHECK(child.bucket(2) == 1);
  CHECK(std::isnan(child.sum()));
  CHECK(histogram.bounds().back() == INFINITY);
  CHECK(Histogram::default_buckets().size() == 15);
}

TEST_CASE("labels() returns the same child; a kept child keeps counting") {
  auto registry = make_registry();
  auto& counter = registry.counter("c", "C.", {"a", "b"});
  auto& child = counter.labels({"1", "2"});
  CHECK(&counter.labels({"1", "2"}) == &child);
  CHECK(&counter.labels({"1", "3"}) != &child);
  child.inc();
  counter.labels({"1", "2"}).inc(2);
  CHECK(child.value() == 3);
}

TEST_CASE("misuse is a MetricError that says what is wrong") {
  auto registry = make_registry();
  auto& counter = registry.counter("c_total", "C.", {"a"});
  CHECK_THROWS_WITH_AS(registry.counter("c", "again"), doctest::Contains("duplicate metric"),
                       MetricError);
  CHECK_THROWS_AS(registry.gauge("c_total", "clashes with the counter's sample"), MetricError);
  registry.histogram("h", "H.");
  CHECK_THROWS_AS(registry.gauge("h_bucket", "clash"), MetricError);
  CHECK_THROWS_WITH_AS(registry.gauge("1bad", "x"), doctest::Contains("invalid metric name"),
                       MetricError);
  CHECK_THROWS_WITH_AS(registry.gauge("g", "x", {"__reserved"}),
                       doctest::Contains("invalid label name"), MetricError);
  CHECK_THROWS_AS(registry.gauge("g2", "x", {"a", "a"}), MetricError);
  CHECK_THROWS_AS(registry.histogram("h2", "x", {"le"}), MetricError);
  CHECK_THROWS_AS(registry.summary("s2", "x", {"quantile"}), MetricError);
  CHECK_THROWS_AS(registry.histogram("h3", "x", {}, {2, 1}), MetricError);
  CHECK_THROWS_WITH_AS(registry.gauge("g3", "x", {}, "median"),
                       doctest::Contains("invalid multiprocess_mode"), MetricError);
  CHECK_THROWS_WITH_AS(counter.labels({"1", "2"}), doctest::Contains("takes 1 label values"),
                       MetricError);
  CHECK_THROWS_AS(counter.inc(), MetricError);  // has labels
  CHECK_THROWS_AS(counter.labels({"x"}).inc(-1), MetricError);
  CHECK_THROWS_AS(counter.labels({"\xff"}), MetricError);
  auto& recent = registry.gauge("recent", "R.", {}, "mostrecent");
  CHECK_THROWS_AS(recent.inc(), MetricError);
  CHECK_THROWS_AS(recent.dec(), MetricError);
  // A failed registration takes nothing: the name is still free.
  CHECK_NOTHROW(registry.gauge("g", "x"));
}

TEST_CASE("gauges: inc, dec, set; mostrecent stores the time of the set") {
  auto registry = make_registry();
  auto& gauge = registry.gauge("g", "G.");
  gauge.inc(5);
  gauge.dec(2);
  CHECK(gauge.value() == 3);
  auto& recent = registry.gauge("r", "R.", {}, "livemostrecent");
  CHECK(recent.multiprocess_mode() == "livemostrecent");
  recent.set(7);
  const auto snapshot = registry.store().snapshot();
  for (const auto& group : snapshot) {
    if (group.kind.token() != "gauge_livemostrecent") continue;
    CHECK(group.values[0].value == 7);
    CHECK(group.values[0].timestamp > 1.6e9);
  }
  auto& clock = registry.gauge("clock", "Clock.");
  clock.set_to_current_time();
  CHECK(clock.value() > 1.6e9);
  CHECK(registry.gauge("l", "L.", {}, "live").multiprocess_mode() == "liveall");
}

TEST_CASE("metrics without labels are exported at 0 before first use") {
  auto registry = make_registry();
  registry.counter("c", "C.");
  registry.summary("s", "S.");
  CHECK(rendered(registry) ==
        "# HELP c_total C.\n# TYPE c_total counter\nc_total 0.0\n"
        "# HELP s S.\n# TYPE s summary\ns_count 0.0\ns_sum 0.0\n");
}

TEST_CASE("threads incrementing one child lose nothing") {
  auto registry = make_registry();
  auto& counter = registry.counter("c", "C.", {"t"});
  auto& summary = registry.summary("s", "S.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        counter.labels({"same"}).inc();
        summary.observe(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(counter.labels({"same"}).value() == 400000);
  CHECK(summary.labels({}).count() == 400000);
}
