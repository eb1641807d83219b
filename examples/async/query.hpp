// Reading a number from a query string, for the async example's routes.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace prefork::examples {

// The value of `name=N` in a query string as a whole number; nullopt when absent or not one.
inline std::optional<long> query_number(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      std::string_view digits = pair.substr(name.size() + 1);
      long value = 0;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
      return value;
    }
    if (pair.size() == query.size()) break;
    query.remove_prefix(pair.size() + 1);
  }
  return std::nullopt;
}

}  // namespace prefork::examples
