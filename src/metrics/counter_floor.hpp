// CounterFloor: never serves a counter lower than it served it before, nor without it.
//
// A Redis that lost data (restarted empty, or a replica promoted before it had every write)
// reads low or empty until every process has written its values again, which takes a
// reconnect and a flush. Prometheus would take a dip for a counter reset and count the whole
// value again in rate(). Within one master's life an aggregated counter of its own storage
// never goes back and never goes away (dead workers are folded into the archive), so serving
// the highest value seen is the truth, only late.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/aggregate.hpp"

namespace prefork::metrics {

class CounterFloor {
 public:
  // Every sample of counter, histogram and summary families (which Prometheus all reads as
  // counters) is raised to the highest value it had in an earlier call, and one that is
  // missing now is put back: after the sample it followed before, so that a histogram's
  // series stay grouped; a missing family goes at the end. Gauges are left as they are.
  void apply(std::vector<Family>& families);

 private:
  struct Remembered {
    Family family;                  // as last served
    std::vector<std::string> keys;  // of its samples, by position
  };
  void merge(Family& family, Remembered& remembered);

  std::vector<Remembered> families_;                    // in the order first served
  std::unordered_map<std::string, std::size_t> index_;  // family name → position
};

}  // namespace prefork::metrics
