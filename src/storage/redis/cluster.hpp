// Redis Cluster, as both connections use it. Every key of an instance carries the instance's
// hash tag (keys.hpp, key_instance), so all of them live in one slot and so on one node: a
// connection writes to the owner of that slot, found in CLUSTER SLOTS of the first node that
// answers, and follows MOVED to the new owner. ASK, TRYAGAIN and CLUSTERDOWN (a slot being
// moved, a cluster without a majority) make it wait and ask again; values wait in memory.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "storage/redis/endpoint.hpp"

namespace prefork::storage {

constexpr int cluster_slots = 16384;

// The slot of a key as Redis computes it: CRC16 (XMODEM) of the key, or of its hash tag (the
// text between the first '{' and the next '}', when not empty), modulo 16384.
int key_slot(std::string_view key);

// The master serving slot in a CLUSTER SLOTS reply; a node listed without an address is the
// one asked. nullopt when no range holds the slot (a cluster still being set up).
std::optional<RedisHost> slot_owner(const redisReply* reply, int slot, const RedisHost& asked);

// Every master in a CLUSTER SLOTS reply, each once, in the order of its first range.
std::vector<RedisHost> slot_masters(const redisReply* reply, const RedisHost& asked);

// "-MOVED 3999 127.0.0.1:6381": the slot's owner changed; the address it names.
std::optional<RedisHost> moved_to(const redisReply* reply);

// An error reply that means the slot is not served here now: MOVED, ASK, TRYAGAIN, CLUSTERDOWN.
bool is_cluster_redirect(const redisReply* reply);

}  // namespace prefork::storage
