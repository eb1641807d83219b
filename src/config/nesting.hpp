// A bound on how deep arrays and inline tables nest in a TOML text, checked before toml11 parses
// it: toml11's parser recurses once per level, so a value thousands of levels deep overflows the
// stack and would take down `--check-config` or, on SIGHUP, the running master.
#pragma once

#include "core/result.hpp"

#include <string_view>

namespace prefork::config {

inline constexpr int max_nesting = 64;

// Brackets and braces inside strings and comments do not count. The error reads
// "LINE: values nest deeper than 64 levels (arrays and inline tables)".
Status check_nesting(std::string_view text, int limit = max_nesting);

}  // namespace prefork::config
