// Parsed JSON keys kept from one scrape to the next. A scrape reads the same series again and
// again, so a collector that keeps a KeyCache parses each key once in its life rather than
// once per scrape (the largest part of a scrape's own work, with the allocations of the parts).
// Keys no scrape asked for since the last drop_unused() are dropped then, so the cache holds
// the keys of the last scrape and the new ones of this one, never every key ever seen.
// Not thread-safe: one collector, one lane.
#pragma once

#include <string>
#include <unordered_map>

#include "core/result.hpp"
#include "metrics/json_key.hpp"
#include "metrics/sample.hpp"

namespace prefork::metrics {

// A parsed key, with what aggregation derives from it, worked out once: a histogram bucket's
// bound as a number and its labels without le.
struct ParsedKey {
  KeyParts parts;
  bool is_bucket = false;  // it has an le label
  double bound = 0;
  Labels without_le;
};

class KeyCache {
 public:
  // The parts of key, or null with why in error when key is not a valid key for a value of
  // type (a histogram's le must be a number).
  const ParsedKey* find(const std::string& key, Type type, std::string& error);
  // Drops every key find() was not asked for since the last call.
  void drop_unused();
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ParsedKey key;
    Status parsed;        // of the JSON
    Status as_histogram;  // of the le label, for histogram values
    bool used = true;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace prefork::metrics
