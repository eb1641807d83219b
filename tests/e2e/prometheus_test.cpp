// A real Prometheus (Debian's package) scrapes a real prefork with deploy/prometheus's scrape job
// and alert rules: the target is up, the request rate Prometheus computes is the rate the test
// sent, and every expression of the alerts and of deploy/grafana's dashboard parses and returns
// data, so that neither can drift from the metric names. Its own executable: without
// prometheus or python3 it is skipped (exit 77), and nothing else with it.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "metrics_support.hpp"
#include "prometheus_support.hpp"
#include "support/text.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::run_command;
using prefork::testing::split;

namespace {

constexpr std::string_view source_root = PREFORK_SOURCE_ROOT;

std::vector<std::string> output_lines(const std::string& command) {
  std::string output;
  int status = run_command(command, output);
  INFO(command, "\n", output);
  REQUIRE(status == 0);
  return split(output, "\n");
}

// Replaces the one occurrence of from in text; fails the test when there is not exactly one.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  INFO("looking for ", from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
}

// deploy/prometheus/prefork.yml as it is, but for the address of this test's prefork and an
// interval of 1 s instead of 15 s (which would make this test last minutes).
std::string scrape_config(int metrics_port) {
  std::string config = read_whole(std::string(source_root) + "/deploy/prometheus/prefork.yml");
  replace_once(config, "scrape_interval: 15s", "scrape_interval: 1s");
  replace_once(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
  replace_once(config, "127.0.0.1:9092", "127.0.0.1:" + std::to_string(metrics_port));
  replace_once(config, "- prefork.rules.yml",
               "- " + std::string(source_root) + "/deploy/prometheus/prefork.rules.yml");
  return config;
}

// GET / at a steady rate, each on a connection of its own. A request that falls behind its
// time is sent at once, so that the average rate holds on a loaded machine.
class PacedLoad {
 public:
  PacedLoad(int port, int per_second)
      : thread_([this, port, per_second] {
          auto period = std::chrono::microseconds(1'000'000 / per_second);
          auto next = Clock::now();
          while (!stop_) {
            std::this_thread::sleep_until(next);
            next += period;
            answered_ += http_get(port, "/").status == 200;
            ++sent_;
          }
        }) {}
  ~PacedLoad() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long sent() const { return sent_; }
  long answered() const { return answered_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0};
  std::atomic<long> answered_{0};
  std::thread thread_;
};

// An alert's expression without its threshold: "EXPR > 0.05" gives "EXPR". The rules file
// writes every alert this way; "" for one that is not.
std::string before_threshold(const std::string& alert) {
  static const std::regex threshold(
      R"(^(.*\S)\s+(==|!=|>=|<=|>|<)\s+(bool\s+)?[-+]?[0-9][0-9.eE+-]*$)");
  std::smatch match;
  return std::regex_match(alert, match, threshold) ? match[1].str() : "";
}

// Each expression returns at least one series. A series appears with its first scrape or
// evaluation after the event the test caused, so they are given a while.
void check_data(const std::string& url, const std::vector<std::string>& exprs) {
  std::vector<std::string> answers;
  CHECK(eventually(
      [&] {
        answers = query_all(url, exprs);
        return answers.size() == exprs.size() &&
               std::all_of(answers.begin(), answers.end(), has_data);
      },
      30s));
  REQUIRE(answers.size() == exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    INFO(exprs[i], " -> ", answers[i]);
    CHECK(has_data(answers[i]));
  }
}

// Every rule of deploy/prometheus/prefork.rules.yml is loaded and healthy, and returns data.
void check_rules(const std::string& url) {
  std::string rules_file =
      read_whole(std::string(source_root) + "/deploy/prometheus/prefork.rules.yml");
  std::size_t in_file = 0;
  for (const char* kind : {"- alert:", "- record:"}) {
    for (std::size_t at = rules_file.find(kind); at != std::string::npos;
         at = rules_file.find(kind, at + 1))
      ++in_file;
  }
  std::vector<std::string> rules;
  // Health is "unknown" until a rule's first evaluation (every second here).
  CHECK(eventually(
      [&] {
        rules = output_lines(prometheus_api_command() + " rules " + url);
        return rules.size() == in_file &&
               std::all_of(rules.begin(), rules.end(), [](const std::string& rule) {
                 return rule.find("\tok\t") != std::string::npos;
               });
      },
      30s));
  REQUIRE(rules.size() == in_file);
  std::vector<std::string> exprs;
  for (const std::string& rule : rules) {
    std::string type = rule.substr(0, rule.find('\t'));
    std::string expr = rule.substr(rule.rfind('\t') + 1);
    INFO(rule);
    CHECK(rule.find("\tok\t") != std::string::npos);
    if (type == "alerting") expr = before_threshold(expr);
    REQUIRE_FALSE(expr.empty());
    exprs.push_back(expr);
  }
  check_data(url, exprs);
}

// Every expression of deploy/grafana/prefork.json returns data, per instance, with Grafana's
// variables set to this test's job and instance.
void check_dashboard(const std::string& url, const std::string& instance) {
  std::vector<std::string> exprs =
      output_lines(prometheus_api_command() + " exprs '" + std::string(source_root) +
                   "/deploy/grafana/prefork.json'");
  REQUIRE(exprs.size() > 10);
  // Grafana's values: $__rate_interval is 4 scrape intervals of the data source's default
  // 15 s.
  const std::vector<std::pair<std::string, std::string>> variables = {
      {"$__rate_interval", "1m"}, {"$job", "prefork"}, {"$instance", instance}};
  for (std::string& expr : exprs) {
    for (const auto& [name, value] : variables) {
      for (std::size_t at = expr.find(name); at != std::string::npos; at = expr.find(name))
        expr.replace(at, name.size(), value);
    }
    INFO(expr);
    REQUIRE(expr.find('$') == std::string::npos);
  }
  check_data(url, exprs);
  // Each series is one instance's, as the alerts compute them: a p99 over every selected master
  // at once would hide the slow one. A series without the label matches no target's up.
  std::vector<std::string> without_instance;
  for (const std::string& expr : exprs)
    without_instance.push_back("(" + expr + ") unless on (instance) up");
  std::vector<std::string> answers = query_all(url, without_instance);
  REQUIRE(answers.size() == exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    INFO(without_instance[i], " -> ", answers[i]);
    CHECK(answers[i] == "0 -");
  }
}

}  // namespace

TEST_CASE("Prometheus scrapes prefork; every alert and dashboard expression returns data") {
  std::string prometheus_binary = prometheus_or_skip();

  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 2);
  std::string config = directory.write("prometheus.yml", scrape_config(prefork.metrics));
  Prometheus prometheus(prometheus_binary, config);
  std::string url = prometheus.start();
  {
    INFO(prometheus.log());
    REQUIRE_FALSE(url.empty());
  }
  std::string instance = "127.0.0.1:" + std::to_string(prefork.metrics);

  std::string up;
  CHECK(eventually(
      [&] {
        up = query(url, "up{job=\"prefork\", instance=\"" + instance + "\"}");
        return up == "1 1";
      },
      30s));
  INFO("up: ", up);

  // What the alerts watch, each at least once: a 5xx (prefork's own 505 to an HTTP/2.0
  // request line, counted like an app's) and a worker killed.
  CHECK(raw_exchange(prefork.port, "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")
            .starts_with("HTTP/1.1 505"));
  REQUIRE(prefork.server.workers().size() == 2);
  CHECK(prefork.server.kill_a_worker_and_await_its_replacement() != 0);

  // The rate over the last 10 s, once the load has run 12 s: the first 2 s, and the requests
  // above, are out of the window.
  constexpr int per_second = 20;
  PacedLoad load(prefork.port, per_second);
  REQUIRE(eventually([&] { return load.sent() >= 12 * per_second; }, 30s));
  std::string rate = query(url, "sum(rate(gunicorn_worker_requests_total{job=\"prefork\"}[10s]))");
  INFO("rate: ", rate, "; sent ", load.sent(), ", answered ", load.answered());
  CHECK(std::abs(value_of(rate) - per_second) <= 0.2 * per_second);
  load.stop();
  CHECK(load.answered() == load.sent());

  check_rules(url);
  check_dashboard(url, instance);
}
