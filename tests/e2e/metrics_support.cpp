// Helpers for the e2e tests of metrics and storage: the metrics endpoint, exposition sums,
// Redis keys, a load generator and a started prefork hello.
#include "metrics_support.hpp"

#include <dirent.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace prefork::e2e {

int metrics_port(Server& server) {
  auto line = server.wait_for_line("Metrics listening at: http");
  if (!line) return 0;
  auto address_end = line->find_first_of(" \n", line->find("://"));
  auto port_at = line->rfind(':', address_end);
  return std::atoi(line->c_str() + port_at + 1);
}

double sum_of(const std::string& text, const std::string& name, std::string_view containing) {
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    if (!containing.empty() && line.find(containing) == std::string::npos) continue;
    sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    found = true;
  }
  return found ? sum : -1;
}

std::string scrape(int port) {
  Reply reply = http_get(port, "/metrics");
  return reply.status == 200 ? reply.body : std::string();
}

std::string redis_config(const RedisServer& redis, const std::string& extra) {
  return "[redis]\nenabled = true\nhost = \"127.0.0.1\"\nport = " + std::to_string(redis.port()) +
         "\nconnect_timeout = 1\ncommand_timeout = 1\n"
         "[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\nflush_interval_ms = 50\n" +
         extra;
}

std::string redis_url_config(const std::string& url, const std::string& redis_extra) {
  return "[redis]\nenabled = true\nurl = \"" + url + "\"\n" + redis_extra +
         "[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\nflush_interval_ms = 50\n";
}

std::string file_config(const std::string& extra) {
  return "[metrics]\nbind_address = \"127.0.0.1\"\nport = 0\n" + extra;
}

std::vector<std::string> files_in(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* directory = opendir(path.c_str())) {
    while (dirent* entry = readdir(directory)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(directory);
  }
  return names;
}

long long redis_key_count(const RedisServer& redis, const std::string& pattern) {
  redisContext* context = redisConnect("127.0.0.1", redis.port());
  if (!context || context->err) {
    if (context) redisFree(context);
    return -1;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(context, "KEYS %s", pattern.c_str()));
  long long count = reply && reply->type == REDIS_REPLY_ARRAY ? (long long)reply->elements : -1;
  if (reply) freeReplyObject(reply);
  redisFree(context);
  return count;
}

std::vector<std::string> redis_client_users(const RedisServer& redis) {
  redisContext* context = redisConnect("127.0.0.1", redis.port());
  std::vector<std::string> users;
  if (!context || context->err) {
    if (context) redisFree(context);
    return users;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(context, "CLIENT LIST"));
  std::istringstream lines(reply && reply->str ? std::string(reply->str, reply->len) : "");
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" cmd=client") != std::string::npos) continue;
    std::size_t at = line.find(" user=");
    if (at != std::string::npos)
      users.push_back(line.substr(at + 1, line.find(' ', at + 1) - at - 1));
  }
  if (reply) freeReplyObject(reply);
  redisFree(context);
  return users;
}

std::string listening_inode(int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  char wanted[16];
  std::snprintf(wanted, sizeof wanted, ":%04X", port);
  std::getline(table, line);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == wanted) return inode;
  }
  return {};
}

bool holds_socket(pid_t pid, const std::string& inode) {
  std::string wanted = "socket:[" + inode + "]";
  for (const auto& [fd, target] : fd_targets(pid)) {
    if (target == wanted) return true;
  }
  return false;
}

int send_requests(int port, int count) {
  int answered = 0;
  for (int i = 0; i < count; ++i) answered += http_get(port, "/").status == 200;
  return answered;
}

Prefork::Prefork(const std::string& config, int workers, std::vector<std::string> extra_args)
    : server(hello_binary(), [&] {
        std::vector<std::string> args{"-c",          config, "-b",
                                      "127.0.0.1:0", "-w",   std::to_string(workers)};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return args;
      }()) {
  port = server.port();
  REQUIRE(port > 0);
  metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  REQUIRE(server.wait_for_worker_count(std::size_t(workers)));
}

ScrapeWatch::ScrapeWatch(int port, std::string name)
    : thread_([this, port, name = std::move(name)] {
        while (!stop_) {
          Reply reply = http_get(port, "/metrics");
          if (reply.status != 200) continue;
          ++scrapes_;
          double value = sum_of(reply.body, name);
          if (value < highest_) ++drops_;
          if (value > highest_) highest_ = value;
        }
      }) {}

void ScrapeWatch::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string check_counted_exactly(int metrics, Load& load, ScrapeWatch& watch) {
  load.stop();
  long answered = load.answered();
  std::string text;
  CHECK(eventually(
      [&] {
        text = scrape(metrics);
        return sum_of(text, "gunicorn_worker_requests_total") == double(answered);
      },
      30s));
  watch.stop();
  INFO("answered ", answered, "\n", text);
  CHECK(watch.drops() == 0);
  CHECK(watch.highest() == double(answered));
  return text;
}

}  // namespace prefork::e2e
