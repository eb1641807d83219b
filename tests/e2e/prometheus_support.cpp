#include "prometheus_support.hpp"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "support/skip.hpp"
#include "support/text.hpp"
#include "support/tools.hpp"

namespace prefork::e2e {
namespace {

using prefork::testing::run_command;
using prefork::testing::split;

// Constant-initialised: other files' static initialisers may read it before this file's run.
constexpr std::string_view source_root = PREFORK_SOURCE_ROOT;

// The lines prometheus_api.py prints for command (query, series) over exprs, one per expression.
std::vector<std::string> api_lines(const std::string& command, const std::string& url,
                                   const std::vector<std::string>& exprs) {
  TempDir directory;
  std::string text;
  for (const std::string& expr : exprs) text += expr + "\n";
  std::string file = directory.write("exprs", text);
  std::string output;
  run_command(prometheus_api_command() + " " + command + " " + url + " '" + file + "'", output);
  return split(output, "\n");
}

// "SERIES<TAB>NAN<TAB>LABELS" (LABELS comma-separated, possibly empty) or "error: WHY".
SeriesAnswer parse_series(const std::string& line) {
  SeriesAnswer answer;
  if (line.starts_with("error: ")) {
    answer.error = line.substr(7);
    return answer;
  }
  std::vector<std::string> fields = split(line, "\t");
  if (fields.size() < 2) {
    answer.error = "unreadable answer: " + line;
    return answer;
  }
  answer.series = std::atoi(fields[0].c_str());
  answer.nan = std::atoi(fields[1].c_str());
  if (fields.size() > 2) answer.labels = split(fields[2], ",");
  return answer;
}

}  // namespace

std::string prometheus_or_skip() {
  std::string binary = prefork::testing::prometheus_path(std::string(source_root));
  if (binary.empty()) {
    prefork::testing::skip_test(
        "prometheus not found (install Debian's prometheus, set PREFORK_PROMETHEUS, or run "
        "scripts/install-prometheus)");
  }
  std::string ignored;
  if (run_command("command -v python3", ignored) != 0) {
    prefork::testing::skip_test("python3 not found");
  }
  return binary;
}

std::string prometheus_api_command() {
  return "python3 '" + std::string(source_root) + "/tests/e2e/prometheus_api.py'";
}

Prometheus::Prometheus(const std::string& binary, const std::string& config)
    : server_(binary, {"--config.file=" + config, "--storage.tsdb.path=" + storage_.path(),
                       "--web.listen-address=127.0.0.1:0"}) {}

std::string Prometheus::start() {
  // msg="Listening on" address=127.0.0.1:PORT
  std::optional<std::string> line = server_.wait_for_line("msg=\"Listening on\"", 60s);
  if (!line || !server_.wait_for_line("Server is ready to receive web requests.", 60s)) {
    return "";
  }
  std::string address = line->substr(line->rfind("address=") + 8);
  return "http://" + address.substr(0, address.find_first_of(" \n"));
}

std::vector<std::string> query_all(const std::string& url, const std::vector<std::string>& exprs) {
  return api_lines("query", url, exprs);
}

std::string query(const std::string& url, const std::string& expr) {
  std::vector<std::string> answers = query_all(url, {expr});
  return answers.empty() ? "no answer" : answers.front();
}

bool has_data(const std::string& answer) {
  return std::atoi(answer.c_str()) > 0;
}

double value_of(const std::string& answer) {
  return has_data(answer) ? std::strtod(answer.c_str() + answer.find(' ') + 1, nullptr) : NAN;
}

std::vector<SeriesAnswer> series_all(const std::string& url,
                                     const std::vector<std::string>& exprs) {
  std::vector<SeriesAnswer> answers;
  for (const std::string& line : api_lines("series", url, exprs)) {
    answers.push_back(parse_series(line));
  }
  return answers;
}

}  // namespace prefork::e2e
