// A real Prometheus (Debian's package) for the e2e tests that scrape prefork with it
// (prometheus_test, exporter_queries_test), and the answers of its HTTP API, read through
// prometheus_api.py.
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace prefork::e2e {

// The prometheus binary; skips the test (exit 77) when it or python3 is missing.
std::string prometheus_or_skip();

// "python3 …/prometheus_api.py", to which a command and its arguments are appended.
std::string prometheus_api_command();

// prometheus on a free loopback port with its own storage; killed (by pid) before the storage
// is removed.
class Prometheus {
 public:
  Prometheus(const std::string& binary, const std::string& config);

  // The API's base URL once Prometheus serves it; "" when it does not start.
  std::string start();
  std::string log() { return server_.log(); }

 private:
  TempDir storage_;
  Server server_;
};

// What each expression returns now: "SERIES VALUE" ("-" when none), or "error: WHY".
std::vector<std::string> query_all(const std::string& url, const std::vector<std::string>& exprs);
std::string query(const std::string& url, const std::string& expr);
// At least one series ("error: …" counts none).
bool has_data(const std::string& answer);
// The first series' value; NaN when there is none.
double value_of(const std::string& answer);

// What each expression returns now, in more detail than query_all.
struct SeriesAnswer {
  std::string error;  // why Prometheus refused the expression; "" when it did not
  int series = 0;
  int nan = 0;                      // series whose value is NaN
  std::vector<std::string> labels;  // the label names every series has, sorted
};
std::vector<SeriesAnswer> series_all(const std::string& url, const std::vector<std::string>& exprs);

}  // namespace prefork::e2e
