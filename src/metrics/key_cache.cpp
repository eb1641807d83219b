#include "metrics/key_cache.hpp"

#include <cstdlib>
#include <iterator>

namespace prefork::metrics {
namespace {

bool valid_bound(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

Status check_bounds(const KeyParts& parts) {
  for (const auto& label : parts.labels) {
    if (label.first == "le" && !valid_bound(label.second)) {
      return Status::error("bucket bound le=\"" + label.second + "\" is not a number");
    }
  }
  return {};
}

}  // namespace

const KeyParts* KeyCache::find(const std::string& key, Type type, std::string& error) {
  auto [found, inserted] = entries_.try_emplace(key);
  Entry& entry = found->second;
  if (inserted) {
    entry.parsed = parse_json_key(key, entry.parts);
    if (entry.parsed) entry.as_histogram = check_bounds(entry.parts);
  }
  entry.used = true;
  const Status& status =
      type == Type::histogram && entry.parsed ? entry.as_histogram : entry.parsed;
  if (status) return &entry.parts;
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
