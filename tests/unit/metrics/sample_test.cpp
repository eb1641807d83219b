#include <doctest/doctest.h>

#include "metrics/sample.hpp"

using namespace prefork::metrics;

TEST_CASE("value kind tokens are prometheus_client's file name prefixes") {
  CHECK(ValueKind{Type::counter, GaugeMode::all}.token() == "counter");
  CHECK(ValueKind{Type::histogram, GaugeMode::all}.token() == "histogram");
  CHECK(ValueKind{Type::summary, GaugeMode::all}.token() == "summary");
  CHECK(ValueKind{Type::gauge, GaugeMode::livesum}.token() == "gauge_livesum");
  CHECK(ValueKind{Type::gauge, GaugeMode::mostrecent}.token() == "gauge_mostrecent");
}

TEST_CASE("every token parses back to its kind") {
  const char* tokens[] = {"counter",
                          "histogram",
                          "summary",
                          "gauge_all",
                          "gauge_liveall",
                          "gauge_min",
                          "gauge_livemin",
                          "gauge_max",
                          "gauge_livemax",
                          "gauge_sum",
                          "gauge_livesum",
                          "gauge_mostrecent",
                          "gauge_livemostrecent"};
  for (const char* token : tokens) {
    ValueKind kind;
    REQUIRE(ValueKind::parse(token, kind));
    CHECK(kind.token() == token);
  }
}

TEST_CASE("live is an alias of liveall; unknown tokens are refused") {
  ValueKind kind;
  REQUIRE(ValueKind::parse("gauge_live", kind));
  CHECK(kind.mode == GaugeMode::liveall);
  CHECK(kind.is_live_gauge());
  CHECK_FALSE(ValueKind::parse("gauge_median", kind));
  CHECK_FALSE(ValueKind::parse("gauge", kind));
  CHECK_FALSE(ValueKind::parse("counters", kind));
  CHECK_FALSE(ValueKind::parse("", kind));
}

TEST_CASE("only live gauge modes are live") {
  CHECK(ValueKind{Type::gauge, GaugeMode::livemostrecent}.is_live_gauge());
  CHECK_FALSE(ValueKind{Type::gauge, GaugeMode::max}.is_live_gauge());
  CHECK_FALSE(ValueKind{Type::counter, GaugeMode::liveall}.is_live_gauge());
}
