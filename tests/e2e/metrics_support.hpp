// Helpers for the e2e tests of metrics and storage: the metrics endpoint, exposition sums,
// Redis keys, a load generator and a started prefork hello.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "support/redis_server.hpp"

namespace prefork::e2e {

using prefork::testing::RedisServer;

// The port of the "Metrics listening at" line (http:// or https://); 0 at the deadline.
int metrics_port(Server& server);
// The sum of every sample named name (any labels, or those of lines containing containing,
// such as instance="web1") in exposition text; -1 when there is none.
double sum_of(const std::string& text, const std::string& name, std::string_view containing = {});
// GET /metrics: its body when 200, otherwise "".
std::string scrape(int port);
// Redis storage on redis with short timeouts and a metrics endpoint on a free port.
std::string redis_config(const RedisServer& redis, const std::string& extra = "");
// Redis storage at url (redis:// or rediss://), with more [redis] settings in redis_extra.
std::string redis_url_config(const std::string& url, const std::string& redis_extra = "");
std::string file_config(const std::string& extra = "");
std::vector<std::string> files_in(const std::string& path);
// Keys matching pattern (KEYS is fine on a test's own Redis); -1 when Redis does not answer.
long long redis_key_count(const RedisServer& redis, const std::string& pattern);
// The user of every connection to redis but the one asking (CLIENT LIST), "user=NAME" each.
std::vector<std::string> redis_client_users(const RedisServer& redis);
// The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp.
std::string listening_inode(int port);
bool holds_socket(pid_t pid, const std::string& inode);
// Sends count GETs of / one after another; returns how many were answered with 200.
int send_requests(int port, int count);

// prefork hello on a free port with its metrics endpoint found and every worker up.
struct Prefork {
  Prefork(const std::string& config, int workers, std::vector<std::string> extra_args = {});
  Server server;
  int port = 0;     // the application
  int metrics = 0;  // the master's /metrics and /health
};

// Scrapes a sum over and over on a thread until stopped, and remembers the drops: what a
// Prometheus polling the endpoint would take for a counter reset. Failed scrapes are counted,
// not read as 0.
class ScrapeWatch {
 public:
  ScrapeWatch(int port, std::string name);
  ~ScrapeWatch() { stop(); }
  void stop();
  long scrapes() const { return scrapes_; }
  long drops() const { return drops_; }
  double highest() const { return highest_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> scrapes_{0};
  std::atomic<long> drops_{0};
  std::atomic<double> highest_{0};
  std::thread thread_;
};

// Stops load, then waits until requests_total on the metrics port sums to what load answered;
// checks that watch (stopped too) never saw the sum drop nor pass that. The last scrape.
std::string check_counted_exactly(int metrics, Load& load, ScrapeWatch& watch);

}  // namespace prefork::e2e
