// Splitting text: a command's output into lines, a unit's setting into words, a list into its
// entries.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace prefork::testing {

// The pieces of text between any of the separators, empty ones left out: split(output, "\n")
// gives the lines that have text, split(setting, " \t") the words, split(paths, ":") the paths.
inline std::vector<std::string> split(std::string_view text, std::string_view separators) {
  std::vector<std::string> pieces;
  std::size_t start = text.find_first_not_of(separators);
  while (start != std::string_view::npos) {
    std::size_t end = std::min(text.find_first_of(separators, start), text.size());
    pieces.emplace_back(text.substr(start, end - start));
    start = text.find_first_not_of(separators, end);
  }
  return pieces;
}

}  // namespace prefork::testing
