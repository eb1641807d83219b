// Lua scripts run by Redis atomically. They address keys built from their arguments (not
// declared in KEYS), which standalone Redis allows; Redis Cluster is not supported.
#pragma once

#include <string_view>

namespace prefork::storage::scripts {

// ARGV: prefix, ttl, process... Refreshes the TTL of every key of each process (as listed in
// its process set), of the set itself and of the index, so live processes never expire; a ttl
// of 0 removes their TTLs instead (keys that never expire).
extern const std::string_view touch;

}  // namespace prefork::storage::scripts
