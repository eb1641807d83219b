// Redis Sentinel, as both connections use it: which sentinel to ask, what to ask, and how to
// read the answers. A connection asks the sentinels in order on every (re)connect, connects to
// the address the first one gives, and requires ROLE = master there: a demoted master goes on
// saying master to the sentinels' old view for a while, and a replica is no place to write.
#pragma once

#include <hiredis/hiredis.h>

#include <optional>
#include <string>

#include "storage/redis/endpoint.hpp"
#include "storage/redis/protocol.hpp"

namespace prefork::storage {

// How to talk to one sentinel: its address, sentinel_password, the endpoint's TLS and timeouts.
RedisEndpoint sentinel_endpoint(const RedisEndpoint& redis, const RedisHost& sentinel);

// SENTINEL GET-MASTER-ADDR-BY-NAME and its answer; nullopt for a sentinel that does not know
// the name (a nil reply) or answers something else.
Command master_address_query(const RedisEndpoint& redis);
std::optional<RedisHost> master_address(const redisReply* reply);

// ROLE's first element: "master", "slave", "sentinel"; "" when the reply is not a role.
std::string role_of(const redisReply* reply);

// "-READONLY …": what a master demoted under a connection answers to a write.
bool is_readonly_error(const redisReply* reply);

}  // namespace prefork::storage
