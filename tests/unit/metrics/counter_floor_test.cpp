// CounterFloor: counters never served lower than before nor left out; gauges as they are.
#include "metrics/counter_floor.hpp"

#include <doctest/doctest.h>

using namespace prefork::metrics;

namespace {

std::vector<Family> families(double requests, double bucket, double size, double memory) {
  return {
      {"requests", "h", Type::counter, {{"requests_total", {{"code", "200"}}, requests}}},
      {"latency",
       "h",
       Type::histogram,
       {{"latency_bucket", {{"le", "0.5"}}, bucket}, {"latency_count", {}, bucket}}},
      {"size", "h", Type::summary, {{"size_count", {}, size}}},
      {"memory", "h", Type::gauge, {{"memory", {{"pid", "1"}}, memory}}},
  };
}

// Sample names and values of a family, in order: "name=value ...".
std::string samples_of(const Family& family) {
  std::string out;
  for (const Sample& sample : family.samples) {
    std::string labels;
    for (const auto& [name, value] : sample.labels) labels += name + "=" + value + ",";
    out += sample.name + "{" + labels + "}=" + std::to_string(int(sample.value)) + " ";
  }
  return out;
}

Sample bucket(const std::string& worker, const std::string& le, double value) {
  return {"latency_bucket", {{"le", le}, {"worker", worker}}, value};
}

Sample count(const std::string& worker, double value) {
  return {"latency_count", {{"worker", worker}}, value};
}

}  // namespace

TEST_CASE("a counter read lower than it was served is served as before; gauges go down") {
  CounterFloor floor;
  std::vector<Family> first = families(10, 4, 3, 100);
  floor.apply(first);
  CHECK(first[0].samples[0].value == 10);

  std::vector<Family> dip = families(2, 1, 1, 50);  // storage lost data
  floor.apply(dip);
  CHECK(dip[0].samples[0].value == 10);
  CHECK(dip[1].samples[0].value == 4);
  CHECK(dip[1].samples[1].value == 4);
  CHECK(dip[2].samples[0].value == 3);
  CHECK(dip[3].samples[0].value == 50);

  std::vector<Family> back = families(12, 5, 2, 60);  // written again, and more
  floor.apply(back);
  CHECK(back[0].samples[0].value == 12);
  CHECK(back[1].samples[0].value == 5);
  CHECK(back[2].samples[0].value == 3);
}

TEST_CASE("missing series come back after the one they followed; missing families at the end") {
  CounterFloor floor;
  std::vector<Family> first = {
      {"latency",
       "h",
       Type::histogram,
       {bucket("1", "0.5", 1), bucket("1", "+Inf", 2), count("1", 2), bucket("2", "0.5", 3),
        bucket("2", "+Inf", 4), count("2", 4)}},
      {"requests", "h", Type::counter, {{"requests_total", {}, 7}}},
  };
  floor.apply(first);

  // Worker 1's series and the whole counter are gone, worker 3 is new.
  std::vector<Family> partial = {
      {"latency",
       "h",
       Type::histogram,
       {bucket("2", "0.5", 3), bucket("2", "+Inf", 5), count("2", 5), bucket("3", "+Inf", 1),
        count("3", 1)}},
  };
  floor.apply(partial);
  REQUIRE(partial.size() == 2);
  CHECK(samples_of(partial[0]) ==
        "latency_bucket{le=0.5,worker=1,}=1 latency_bucket{le=+Inf,worker=1,}=2 "
        "latency_count{worker=1,}=2 latency_bucket{le=0.5,worker=2,}=3 "
        "latency_bucket{le=+Inf,worker=2,}=5 latency_count{worker=2,}=5 "
        "latency_bucket{le=+Inf,worker=3,}=1 latency_count{worker=3,}=1 ");
  CHECK(samples_of(partial[1]) == "requests_total{}=7 ");

  // A bucket missing inside a series goes back between its neighbours.
  std::vector<Family> gap = {
      {"latency",
       "h",
       Type::histogram,
       {bucket("1", "0.5", 1), count("1", 2), bucket("2", "0.5", 3), bucket("2", "+Inf", 5),
        count("2", 5), bucket("3", "+Inf", 1), count("3", 1)}},
      {"requests", "h", Type::counter, {{"requests_total", {}, 8}}},
  };
  floor.apply(gap);
  CHECK(samples_of(gap[0]).rfind(
            "latency_bucket{le=0.5,worker=1,}=1 latency_bucket{le=+Inf,worker=1,}=2 "
            "latency_count{worker=1,}=2 ",
            0) == 0);
  CHECK(gap[1].samples[0].value == 8);
}

// One label whose value spells what two labels would, NUL bytes included.
TEST_CASE("series are told apart by every label, whatever bytes the values hold") {
  CounterFloor floor;
  std::vector<Family> first = {{"c",
                                "h",
                                Type::counter,
                                {{"c_total", {{"a", std::string("x\0b\0y", 5)}}, 9},
                                 {"c_total", {{"a", "x"}, {"b", "y"}}, 1}}}};
  floor.apply(first);
  std::vector<Family> second = first;
  second[0].samples[1].value = 0.5;
  floor.apply(second);
  CHECK(second[0].samples[0].value == 9);
  CHECK(second[0].samples[1].value == 1);
}
