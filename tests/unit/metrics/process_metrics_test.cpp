// prometheus_client's process_* metrics of one process, labelled by worker, stored as any metric.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <prefork/metrics.hpp>
#include <string>

#include "metrics/aggregate.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"
#include "metrics/slot.hpp"

using namespace prefork::metrics;

namespace {

std::string rendered(Registry& registry) {
  return render_text(aggregate(registry.store().snapshot()));
}

// The value of the one sample line starting with line_start, or -1.
double value_of(const std::string& text, const std::string& line_start) {
  std::size_t at = text.find("\n" + line_start);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(text.find(' ', at + 1) + 1));
}

}  // namespace

TEST_CASE("the six names, prometheus_client's types and help, labelled worker_id and pid") {
  Registry registry(std::make_unique<SlotStore>(create_slot(), "41"));
  ProcessMetrics process(registry, "3");
  prefork::ProcessStats stats = process.update();
  std::string text = rendered(registry);
  INFO(text);
  CHECK(text.find("# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                  "seconds.\n# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE process_resident_memory_bytes gauge") != std::string::npos);
  CHECK(value_of(text, "process_cpu_seconds_total{worker_id=\"3\"}") == stats.cpu_seconds);
  CHECK(value_of(text, "process_resident_memory_bytes{pid=\"41\",worker_id=\"3\"}") ==
        stats.resident_bytes);
  CHECK(value_of(text, "process_virtual_memory_bytes{pid=\"41\",worker_id=\"3\"}") ==
        stats.virtual_bytes);
  CHECK(value_of(text, "process_open_fds{pid=\"41\",worker_id=\"3\"}") == stats.open_fds);
  CHECK(value_of(text, "process_max_fds{pid=\"41\",worker_id=\"3\"}") == stats.max_fds);
  // Computed from two clocks read at another moment: the same within microseconds.
  CHECK(std::abs(value_of(text, "process_start_time_seconds{pid=\"41\",worker_id=\"3\"}") -
                 prefork::process_start_time_seconds()) < 0.001);
}

TEST_CASE("the CPU counter follows the process's CPU time, reading after reading") {
  Registry registry(std::make_unique<SlotStore>(create_slot(), "41"));
  ProcessMetrics process(registry, "master");
  const std::string sample = "process_cpu_seconds_total{worker_id=\"master\"}";
  CHECK(value_of(rendered(registry), sample) == 0);
  for (int reading = 0; reading < 3; ++reading) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
    volatile unsigned long sink = 0;
    while (std::chrono::steady_clock::now() < until) sink = sink + 1;
    double before = value_of(rendered(registry), sample);
    prefork::ProcessStats stats = process.update();
    double after = value_of(rendered(registry), sample);
    CHECK(after == doctest::Approx(stats.cpu_seconds));
    CHECK(after > before);
  }
}
