#include "metrics/key_cache.hpp"

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace prefork::metrics {
namespace {

// Finds le among the labels, and keeps the others apart for a bucket only; an le that is not
// a number is an error for histograms.
Status read_bucket(ParsedKey& key) {
  const Labels& labels = key.parts.labels;
  auto le = std::find_if(labels.begin(), labels.end(),
                         [](const auto& label) { return label.first == "le"; });
  if (le == labels.end()) return {};
  key.is_bucket = true;
  std::copy_if(labels.begin(), labels.end(), std::back_inserter(key.without_le),
               [](const auto& label) { return label.first != "le"; });
  char* end = nullptr;
  key.bound = std::strtod(le->second.c_str(), &end);
  if (le->second.empty() || end != le->second.c_str() + le->second.size())
    return Status::error("bucket bound le=\"" + le->second + "\" is not a number");
  return {};
}

}  // namespace

const ParsedKey* KeyCache::find(const std::string& key, Type type, std::string& error) {
  auto [found, inserted] = entries_.try_emplace(key);
  Entry& entry = found->second;
  if (inserted) {
    entry.parsed = parse_json_key(key, entry.key.parts);
    if (entry.parsed) entry.as_histogram = read_bucket(entry.key);
  }
  entry.used = true;
  const Status& status =
      type == Type::histogram && entry.parsed ? entry.as_histogram : entry.parsed;
  if (status) return &entry.key;
  error = status.message();
  return nullptr;
}

void KeyCache::drop_unused() {
  for (auto entry = entries_.begin(); entry != entries_.end();) {
    if (entry->second.used) {
      entry->second.used = false;
      ++entry;
    } else {
      entry = entries_.erase(entry);
    }
  }
}

}  // namespace prefork::metrics
