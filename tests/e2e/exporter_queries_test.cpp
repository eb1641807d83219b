// gunicorn-prometheus-exporter's own dashboard and documented queries (exporter_queries.txt),
// unchanged, against a real Prometheus that scrapes a real prefork with the exporter's scrape
// job: each parses and returns data, and every series carries the labels the expression groups
// by and its panel's legend shows. The few that return nothing against the exporter as well are
// checked to return nothing. Issue 17's "Done when", with file and with Redis storage. Its own
// executable: without prometheus or python3 it is skipped (exit 77).

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics_support.hpp"
#include "prometheus_support.hpp"
#include "support/text.hpp"

using namespace prefork::e2e;
using prefork::testing::split;

namespace {

constexpr std::string_view source_root = PREFORK_SOURCE_ROOT;

// One record of exporter_queries.txt (its header says what each field means).
struct ExporterQuery {
  std::string from;
  std::string query;
  std::string legend;
  std::string empty;
  std::string series;
};

// The field of query that key names; null for an unknown key.
std::string* field(ExporterQuery& query, const std::string& key) {
  if (key == "from") return &query.from;
  if (key == "query") return &query.query;
  if (key == "legend") return &query.legend;
  if (key == "empty") return &query.empty;
  if (key == "series") return &query.series;
  return nullptr;
}

// The records of the fixture: "key: value" lines, a value continued on lines indented by two
// spaces, "#" lines ignored; "from:" starts a record.
std::vector<ExporterQuery> read_queries(const std::string& text) {
  std::vector<ExporterQuery> queries;
  std::string* value = nullptr;
  for (const std::string& line : split(text, "\n")) {
    INFO(line);
    if (line.starts_with("#")) continue;
    if (line.starts_with("  ")) {
      REQUIRE(value != nullptr);
      *value += " " + line.substr(line.find_first_not_of(' '));
      continue;
    }
    std::size_t colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    std::string key = line.substr(0, colon);
    if (key == "from") queries.emplace_back();
    REQUIRE_FALSE(queries.empty());
    value = field(queries.back(), key);
    REQUIRE(value != nullptr);
    *value = line.substr(colon + 2);
  }
  return queries;
}

// The labels every series must have: those of "by (…)" and the legend's {{…}}.
std::vector<std::string> required_labels(const ExporterQuery& query) {
  std::vector<std::string> labels;
  static const std::regex by(R"(\bby\s*\(([^)]*)\))");
  for (std::sregex_iterator it(query.query.begin(), query.query.end(), by), end; it != end; ++it) {
    for (const std::string& label : split((*it)[1].str(), ", ")) labels.push_back(label);
  }
  static const std::regex shown(R"(\{\{\s*(\w+)\s*\}\})");
  for (std::sregex_iterator it(query.legend.begin(), query.legend.end(), shown), end; it != end;
       ++it) {
    labels.push_back((*it)[1].str());
  }
  return labels;
}

// "" when answer is what query's record promises; otherwise how it differs.
std::string mismatch(const ExporterQuery& query, const SeriesAnswer& answer) {
  if (!answer.error.empty()) return "refused: " + answer.error;
  std::string series = std::to_string(answer.series) + " series";
  if (!query.empty.empty()) return answer.series == 0 ? "" : series + ", none expected";
  if (answer.series == 0) return "no series";
  if (!query.series.empty() && answer.series != std::atoi(query.series.c_str())) {
    return series + ", " + query.series + " expected";
  }
  if (answer.nan > 0) return std::to_string(answer.nan) + " of " + series + " NaN";
  for (const std::string& label : required_labels(query)) {
    if (std::find(answer.labels.begin(), answer.labels.end(), label) == answer.labels.end()) {
      return "a series without the label " + label;
    }
  }
  return "";
}

// The exporter's scrape job (its docker/prometheus.yml, "gunicorn-sidecar": /metrics with
// honor_labels) pointed at this prefork's master, every second instead of every 10 s.
std::string scrape_config(int metrics_port) {
  return "scrape_configs:\n"
         "  - job_name: gunicorn-sidecar\n"
         "    scrape_interval: 1s\n"
         "    metrics_path: /metrics\n"
         "    honor_labels: true\n"
         "    static_configs:\n"
         "      - targets: ['127.0.0.1:" +
         std::to_string(metrics_port) + "']\n";
}

// What the queries are about, each at least once: a handler's exception (500, error_handling
// and failed_requests), a 404 and a worker killed (the restart counters).
void cause_errors_and_a_restart(Prefork& prefork) {
  CHECK(http_get(prefork.port, "/throw").status == 500);
  CHECK(http_get(prefork.port, "/missing").status == 404);
  REQUIRE(prefork.server.workers().size() == 2);
  CHECK(prefork.server.kill_a_worker_and_await_its_replacement() != 0);
}

// Every query of the fixture against the prefork, once Prometheus scrapes it and the events
// and the load the queries are about have happened.
void check_queries(Prefork& prefork, const std::string& prometheus_binary) {
  std::vector<ExporterQuery> queries =
      read_queries(read_whole(std::string(source_root) + "/tests/e2e/exporter_queries.txt"));
  REQUIRE(queries.size() >= 20);
  std::vector<std::string> exprs;
  for (const ExporterQuery& query : queries) {
    INFO(query.from);
    REQUIRE_FALSE(query.query.empty());
    exprs.push_back(query.query);
  }

  TempDir directory;
  Prometheus prometheus(prometheus_binary,
                        directory.write("prometheus.yml", scrape_config(prefork.metrics)));
  std::string url = prometheus.start();
  {
    INFO(prometheus.log());
    REQUIRE_FALSE(url.empty());
  }
  std::string up;
  CHECK(eventually(
      [&] {
        up = query(url, "up{job=\"gunicorn-sidecar\"}");
        return up == "1 1";
      },
      30s));
  INFO("up: ", up);

  cause_errors_and_a_restart(prefork);
  // Requests go on while Prometheus is asked, so that every rate has something to show.
  Load load(prefork.port, 2);
  std::vector<SeriesAnswer> answers;
  CHECK(eventually(
      [&] {
        answers = series_all(url, exprs);
        if (answers.size() != queries.size()) return false;
        for (std::size_t i = 0; i < queries.size(); ++i) {
          if (!mismatch(queries[i], answers[i]).empty()) return false;
        }
        return true;
      },
      60s));
  REQUIRE(answers.size() == queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    INFO(queries[i].from, "\n", queries[i].query);
    CHECK(mismatch(queries[i], answers[i]) == "");
  }
  load.stop();
  CHECK(load.failed() == 0);
}

}  // namespace

TEST_CASE("file storage: the exporter's dashboard and documented queries work unchanged") {
  std::string prometheus_binary = prometheus_or_skip();
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", file_config()), 2);
  check_queries(prefork, prometheus_binary);
}

TEST_CASE("Redis storage: the exporter's dashboard and documented queries work unchanged") {
  std::string prometheus_binary = prometheus_or_skip();
  RedisServer redis;
  TempDir directory;
  Prefork prefork(directory.write("prefork.toml", redis_config(redis)), 2);
  REQUIRE(prefork.server.wait_for_line("Metrics: storage redis").has_value());
  check_queries(prefork, prometheus_binary);
}
