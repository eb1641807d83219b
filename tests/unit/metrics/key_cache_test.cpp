// KeyCache: keys parsed once across scrapes, refused keys said why, unused keys dropped.
#include <doctest/doctest.h>

#include "metrics/aggregate.hpp"
#include "metrics/exposition.hpp"
#include "metrics/key_cache.hpp"

using namespace prefork::metrics;

namespace {

const std::string requests = json_key("requests", "requests_total", {{"route", "/"}}, "Requests.");
const std::string bucket = json_key("latency", "latency_bucket", {{"le", "0.5"}}, "Latency.");
const std::string bad_bucket = json_key("latency", "latency_bucket", {{"le", "half"}}, "Latency.");

}  // namespace

TEST_CASE("a key is parsed once: later finds give the same parts") {
  KeyCache cache;
  std::string error;
  const ParsedKey* first = cache.find(requests, Type::counter, error);
  REQUIRE(first != nullptr);
  CHECK(first->parts.metric_name == "requests");
  CHECK(first->parts.labels == Labels{{"route", "/"}});
  CHECK_FALSE(first->is_bucket);
  CHECK(cache.find(requests, Type::counter, error) == first);
  CHECK(cache.size() == 1);
}

TEST_CASE("a key that is not JSON, or a histogram bound that is not a number, is refused") {
  KeyCache cache;
  std::string error;
  CHECK(cache.find("not json", Type::counter, error) == nullptr);
  CHECK_FALSE(error.empty());
  CHECK(cache.find(bad_bucket, Type::histogram, error) == nullptr);
  CHECK(error == "bucket bound le=\"half\" is not a number");
  // The bound only matters to histograms; the cached parse serves both.
  CHECK(cache.find(bad_bucket, Type::gauge, error) != nullptr);
  const ParsedKey* parsed = cache.find(bucket, Type::histogram, error);
  REQUIRE(parsed != nullptr);
  CHECK(parsed->is_bucket);
  CHECK(parsed->bound == 0.5);
  CHECK(parsed->without_le.empty());
}

TEST_CASE("drop_unused keeps the keys asked for since the last drop, and no others") {
  KeyCache cache;
  std::string error;
  REQUIRE(cache.find(requests, Type::counter, error));
  REQUIRE(cache.find(bucket, Type::histogram, error));
  cache.drop_unused();
  CHECK(cache.size() == 2);
  REQUIRE(cache.find(requests, Type::counter, error));
  cache.drop_unused();
  CHECK(cache.size() == 1);
  cache.drop_unused();
  CHECK(cache.size() == 0);
}

TEST_CASE("aggregations that share a cache give what fresh ones give") {
  KeyCache cache;
  std::vector<ProcessValues> first = {{{Type::counter, {}}, "1", {{requests, 2, 0}}},
                                      {{Type::counter, {}}, "2", {{requests, 3, 0}}}};
  std::vector<ProcessValues> second = {{{Type::counter, {}}, "1", {{requests, 4, 0}}}};
  CHECK(render_text(aggregate(first, cache)) == render_text(aggregate(first)));
  cache.drop_unused();
  CHECK(render_text(aggregate(second, cache)) == render_text(aggregate(second)));
}
