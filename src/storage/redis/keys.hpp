// The Redis key layout (ARCHITECTURE.md):
//   {prefix}:{kind}:{process}:metric:{md5}   hash: value, timestamp, updated_at
//   {prefix}:{kind}:{process}:meta:{md5}     hash: original_key, created_at
//   {prefix}:processes                       set of process names (the collector's index);
//                                            {prefix}:processes:{instance} in a cluster
//   {prefix}:process:{process}               set of "{kind}:{md5}", the process's series
// {kind} is ValueKind::token() ("counter", "gauge_livesum", …) and never contains ':'.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace prefork::storage {

class RedisKeys {
 public:
  // instance: key_instance's; a hash tag puts the index into the instance's slot.
  explicit RedisKeys(std::string prefix, std::string instance = "")
      : prefix_(std::move(prefix)), instance_(std::move(instance)) {}

  const std::string& prefix() const { return prefix_; }

  std::string metric(std::string_view kind, std::string_view process, std::string_view md5) const;
  std::string meta(std::string_view kind, std::string_view process, std::string_view md5) const;
  std::string processes() const;
  std::string process(std::string_view process) const;

  // A member of the process set and back.
  static std::string series(std::string_view kind, std::string_view md5);
  static bool split_series(std::string_view series, std::string_view& kind, std::string_view& md5);

 private:
  std::string prefix_;
  std::string instance_;
};

// The instance part of keys (process names, the archive, the index): metrics.instance; in a
// cluster (redis.cluster_nodes) its hash tag, "{instance}", or "{prefix}" without an instance,
// so that all of an instance's keys share one slot and its cleanup transaction stays legal.
std::string key_instance(const config::Redis& redis, std::string_view instance);

// The instance's name as a label, the inverse of key_instance: "web1" of "{web1}" and of "web1".
std::string_view instance_name(std::string_view key_instance);

// The process name of the archive that keeps the totals of an instance's dead processes:
// "archive", or "{instance}-archive".
std::string archive_process(std::string_view instance);

// The {pid} part of the keys: the pid, or "{instance}-{pid}".
std::string process_name(std::string_view instance, long pid);

// The instance part of a process name: "web1" of "web1-1234" and of "web1-archive", "" of
// "1234" and of "archive".
std::string_view instance_of_process(std::string_view process);

// Inverse of process_name for this instance: the pid, or -1 when the name belongs to another
// instance or is not a pid (the archive).
long pid_of_process(std::string_view instance, std::string_view process);

// Doubles as Redis stores them: round-trip exact text ("%.17g"), "nan", "inf", "-inf".
std::string format_double(double value);
bool parse_double(std::string_view text, double& value);

}  // namespace prefork::storage
