#include "metrics/key_cache.hpp"

#include <cstdlib>
#include <iterator>

namespace prefork::metrics {
namespace {

// Finds le among the labels; an le that is not a number is an error for histograms.
Status read_bucket(ParsedKey& key) {
  for (const auto& label : key.parts.labels) {
    if (label.first != "le") {
      key.without_le.push_back(label);
      continue;
    }
    char* end = nullptr;
    key.bound = std::strtod(label.second.c_str(), &end);
    key.is_bucket = true;
    if (label.second.empty() || end != label.second.c_str() + label.second.size())
      return Status::error("bucket bound le=\"" + label.second + "\" is not a number");
  }
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
