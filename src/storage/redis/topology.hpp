// Where a connection finds the Redis it writes to, the same rules for the master's blocking
// connection and the workers' non-blocking ones. Standalone: the endpoint's host and port.
// Sentinel: the master the first answering sentinel names, which must say ROLE master.
// Cluster: the owner of the instance's slot in the first answering node's CLUSTER SLOTS.
// Both connections ask on every (re)connect and drop a connection whose Redis no longer
// serves them (READONLY, MOVED, …), so that the next connect finds the one that does.
#pragma once

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <vector>

#include "storage/redis/endpoint.hpp"
#include "storage/redis/reply.hpp"

namespace prefork::storage {

// The sentinels or cluster nodes to ask, in order; empty on a standalone Redis.
const std::vector<RedisHost>& locators(const RedisEndpoint& endpoint);

// How to talk to one of them: the sentinels' password, or the cluster's own credentials.
RedisEndpoint locator_endpoint(const RedisEndpoint& endpoint, const RedisHost& locator);

// AUTH when needed, then the question; its answer is the last reply.
std::vector<Command> location_commands(const RedisEndpoint& endpoint);

// The address in the answer of locator; nullopt when it does not know.
std::optional<RedisHost> located(const RedisEndpoint& endpoint, const RedisHost& locator,
                                 const redisReply* answer);

// "no sentinel gave the address of master mymaster", "no cluster node named the owner of slot 866".
std::string not_located(const RedisEndpoint& endpoint);

// Sentinel: what a connection connects to must answer ROLE master before it is used.
bool requires_master_role(const RedisEndpoint& endpoint);

// A reply that says this Redis no longer serves the endpoint: READONLY from a master demoted
// under sentinels; MOVED, ASK, TRYAGAIN or CLUSTERDOWN in a cluster.
bool serves_no_longer(const RedisEndpoint& endpoint, const redisReply* reply);

}  // namespace prefork::storage
