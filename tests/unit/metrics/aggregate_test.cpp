#include <doctest/doctest.h>

#include <cmath>

#include "metrics/aggregate.hpp"
#include "metrics/exposition.hpp"

using namespace prefork::metrics;

namespace {

ProcessValues values_of(const char* token, const char* process, std::vector<StoredValue> values) {
  ProcessValues result;
  REQUIRE(ValueKind::parse(token, result.kind));
  result.process = process;
  result.values = std::move(values);
  return result;
}

StoredValue gauge(const char* labels_json, double value, double timestamp = 0) {
  return StoredValue{std::string(R"(["g", "g", )") + labels_json + R"(, "G."])", value, timestamp};
}

std::string render_mode(const char* token, std::vector<StoredValue> first,
                        std::vector<StoredValue> second) {
  return render_text(aggregate(
      {values_of(token, "1", std::move(first)), values_of(token, "2", std::move(second))}));
}

}  // namespace

TEST_CASE("counters are summed over processes, dead ones included") {
  const std::string key = R"(["c", "c_total", {"m": "GET"}, "C."])";
  auto families = aggregate({values_of("counter", "1", {{key, 2}}),
                             values_of("counter", "archive", {{key, 40}}),
                             values_of("counter", "3", {{key, 0.5}})});
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "c");
  CHECK(families[0].type == Type::counter);
  REQUIRE(families[0].samples.size() == 1);
  CHECK(families[0].samples[0].name == "c_total");
  CHECK(families[0].samples[0].value == 42.5);
  CHECK(render_text(families) ==
        "# HELP c_total C.\n# TYPE c_total counter\nc_total{m=\"GET\"} 42.5\n");
}

TEST_CASE("gauge all and liveall keep one series per process with a pid label") {
  CHECK(render_mode("gauge_all", {gauge(R"({"z": "1"})", 1)}, {gauge(R"({"z": "1"})", 2)}) ==
        "# HELP g G.\n# TYPE g gauge\ng{pid=\"1\",z=\"1\"} 1.0\ng{pid=\"2\",z=\"1\"} 2.0\n");
  CHECK(render_mode("gauge_liveall", {gauge("{}", 1)}, {gauge("{}", 2)}) ==
        "# HELP g G.\n# TYPE g gauge\ng{pid=\"1\"} 1.0\ng{pid=\"2\"} 2.0\n");
  // live is liveall
  CHECK(render_mode("gauge_live", {gauge("{}", 1)}, {gauge("{}", 2)}) ==
        "# HELP g G.\n# TYPE g gauge\ng{pid=\"1\"} 1.0\ng{pid=\"2\"} 2.0\n");
}

TEST_CASE("gauge min and max: strict comparison, the first value wins ties") {
  CHECK(render_mode("gauge_min", {gauge("{}", 3)}, {gauge("{}", -1)}).ends_with("g -1.0\n"));
  CHECK(render_mode("gauge_livemin", {gauge("{}", -1)}, {gauge("{}", 3)}).ends_with("g -1.0\n"));
  CHECK(render_mode("gauge_max", {gauge("{}", 3)}, {gauge("{}", -1)}).ends_with("g 3.0\n"));
  CHECK(render_mode("gauge_livemax", {gauge("{}", -1)}, {gauge("{}", 3)}).ends_with("g 3.0\n"));
  // Ties: 0.0 and -0.0 compare equal; the first stays.
  CHECK(render_mode("gauge_min", {gauge("{}", -0.0)}, {gauge("{}", 0.0)}).ends_with("g -0.0\n"));
  CHECK(render_mode("gauge_max", {gauge("{}", 0.0)}, {gauge("{}", -0.0)}).ends_with("g 0.0\n"));
  // NaN never compares: a first NaN stays, a later NaN is ignored.
  CHECK(render_mode("gauge_max", {gauge("{}", NAN)}, {gauge("{}", 5)}).ends_with("g NaN\n"));
  CHECK(render_mode("gauge_min", {gauge("{}", 5)}, {gauge("{}", NAN)}).ends_with("g 5.0\n"));
}

TEST_CASE("gauge sum adds over processes; NaN spreads") {
  CHECK(render_mode("gauge_sum", {gauge("{}", 1.5)}, {gauge("{}", 2)}).ends_with("g 3.5\n"));
  CHECK(render_mode("gauge_livesum", {gauge("{}", 1)}, {gauge("{}", NAN)}).ends_with("g NaN\n"));
  // Summing starts from 0.0, as prometheus_client's defaultdict(float).
  CHECK(render_mode("gauge_sum", {gauge("{}", -0.0)}, {}).ends_with("g 0.0\n"));
}

TEST_CASE("gauge mostrecent: the strictly largest timestamp wins") {
  CHECK(render_mode("gauge_mostrecent", {gauge("{}", 1, 100)}, {gauge("{}", 2, 200)})
            .ends_with("g 2.0\n"));
  CHECK(render_mode("gauge_livemostrecent", {gauge("{}", 1, 200)}, {gauge("{}", 2, 100)})
            .ends_with("g 1.0\n"));
  CHECK(render_mode("gauge_mostrecent", {gauge("{}", 1, 100)}, {gauge("{}", 2, 100)})
            .ends_with("g 1.0\n"));
}

TEST_CASE("a mostrecent gauge never set is a family with HELP and TYPE only") {
  CHECK(render_mode("gauge_mostrecent", {gauge("{}", 0, 0)}, {gauge("{}", 5, 0)}) ==
        "# HELP g G.\n# TYPE g gauge\n");
}

TEST_CASE("gauge modes drop a pid label of the user's own except all, which replaces it") {
  CHECK(render_mode("gauge_sum", {gauge(R"({"pid": "x"})", 1)}, {gauge(R"({"pid": "y"})", 2)}) ==
        "# HELP g G.\n# TYPE g gauge\ng 3.0\n");
  CHECK(render_mode("gauge_all", {gauge(R"({"pid": "x"})", 1)}, {}) ==
        "# HELP g G.\n# TYPE g gauge\ng{pid=\"1\"} 1.0\n");
}

TEST_CASE("histogram buckets merge by numeric le, become cumulative, and end with _count") {
  auto bucket = [](const char* le, double value) {
    return StoredValue{std::string(R"(["h", "h_bucket", {"le": ")") + le + R"(", "x": "a"}, "H."])",
                       value};
  };
  const StoredValue sum{R"(["h", "h_sum", {"x": "a"}, "H."])", 1.25};
  const auto input = std::vector<ProcessValues>{
      values_of("histogram", "1", {sum, bucket("0.5", 1), bucket("10.0", 2), bucket("+Inf", 1)}),
      // Another writer spelled the bounds differently: they still merge.
      values_of("histogram", "2",
                {sum, bucket("5e-1", 3), bucket("1e1", 0), bucket("inf", 4), bucket("2.0", 1)}),
  };
  CHECK(render_text(aggregate(input)) ==
        "# HELP h H.\n# TYPE h histogram\n"
        "h_sum{x=\"a\"} 2.5\n"
        "h_bucket{le=\"0.5\",x=\"a\"} 4.0\n"
        "h_bucket{le=\"2.0\",x=\"a\"} 5.0\n"
        "h_bucket{le=\"10.0\",x=\"a\"} 7.0\n"
        "h_bucket{le=\"+Inf\",x=\"a\"} 12.0\n"
        "h_count{x=\"a\"} 12.0\n");
  CHECK(render_text(aggregate(input, false)) ==
        "# HELP h H.\n# TYPE h histogram\n"
        "h_sum{x=\"a\"} 2.5\n"
        "h_bucket{le=\"0.5\",x=\"a\"} 4.0\n"
        "h_bucket{le=\"2.0\",x=\"a\"} 1.0\n"
        "h_bucket{le=\"10.0\",x=\"a\"} 2.0\n"
        "h_bucket{le=\"+Inf\",x=\"a\"} 5.0\n");
}

TEST_CASE("summaries sum count and sum, in stored order") {
  const StoredValue count{R"(["s", "s_count", {}, "S."])", 2};
  const StoredValue sum{R"(["s", "s_sum", {}, "S."])", 0.5};
  CHECK(render_text(aggregate(
            {values_of("summary", "1", {count, sum}), values_of("summary", "2", {count, sum})})) ==
        "# HELP s S.\n# TYPE s summary\ns_count 4.0\ns_sum 1.0\n");
}

TEST_CASE("families and label sets keep their first-seen order") {
  auto counter = [](const char* name, const char* label) {
    return StoredValue{
        std::string("[\"") + name + "\", \"" + name + "_total\", {\"l\": \"" + label + "\"}, \"\"]",
        1};
  };
  auto families = aggregate({values_of("counter", "1", {counter("b", "2"), counter("a", "1")}),
                             values_of("counter", "2", {counter("a", "0"), counter("b", "2")})});
  REQUIRE(families.size() == 2);
  CHECK(families[0].name == "b");
  REQUIRE(families[1].samples.size() == 2);
  CHECK(families[1].samples[0].labels[0].second == "1");
  CHECK(families[1].samples[1].labels[0].second == "0");
  CHECK(families[0].samples[0].value == 2);
}

TEST_CASE("bad keys and bounds are skipped and reported, the rest is kept") {
  std::vector<std::string> errors;
  auto families =
      aggregate({values_of("counter", "1", {{"not json", 1}, {R"(["c", "c_total", {}, ""])", 1}}),
                 values_of("histogram", "1", {{R"(["h", "h_bucket", {"le": "x"}, ""])", 1}})},
                true, &errors);
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "c");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].find("counter_1") == 0);
  CHECK(errors[1].find("le=\"x\"") != std::string::npos);
}
