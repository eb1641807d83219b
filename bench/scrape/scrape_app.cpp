// The app of bench/scrape.sh. At worker start it declares a mix of labelled metrics so that,
// with the 46 values the built-in worker metrics store (two counters, three histograms and
// four gauges), every worker stores 201 values; the benchmark then measures how long the master
// takes to collect them from all workers. Every request answers 200 and moves a few values.
#include <prefork/app.hpp>
#include <prefork/metrics.hpp>
#include <prefork/worker.hpp>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace prefork::bench {
namespace {

// Stored values per worker: routes (one each), queues (one each, exported per pid since the
// gauge mode is "all") and jobs (15 buckets and a sum each, with the default buckets).
constexpr std::size_t route_count = 100;
constexpr std::size_t queue_count = 23;
constexpr std::size_t job_count = 2;

std::string numbered(const char* stem, std::size_t number) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%03zu", stem, number);
  return text;
}

class ScrapeApp : public SyncApp {
 public:
  void on_worker_start(Worker& worker) override {
    metrics::Registry& registry = worker.metrics();
    auto& routes =
        registry.counter("scrape_bench_route_requests_total", "Requests by route.", {"route"});
    auto& queues = registry.gauge("scrape_bench_queue_depth", "Items waiting by queue.", {"queue"});
    auto& jobs =
        registry.histogram("scrape_bench_job_duration_seconds", "Job duration by job.", {"job"});
    // Distinct values, so that the exposition prints numbers rather than a page of zeros.
    for (std::size_t i = 0; i < route_count; ++i) {
      routes_.push_back(&routes.labels({numbered("route", i)}));
      routes_.back()->inc(double(i));
    }
    for (std::size_t i = 0; i < queue_count; ++i) {
      queues_.push_back(&queues.labels({numbered("queue", i)}));
      queues_.back()->set(double(i));
    }
    for (std::size_t i = 0; i < job_count; ++i) {
      jobs_.push_back(&jobs.labels({numbered("job", i)}));
      jobs_.back()->observe(0.001 * double(i + 1));
    }
  }

  Response respond(const Request&) override {
    std::size_t served = served_.fetch_add(1, std::memory_order_relaxed);
    routes_[served % routes_.size()]->inc();
    queues_[served % queues_.size()]->inc();
    jobs_[served % jobs_.size()]->observe(0.0005);
    return Response::view(200, "text/plain; charset=utf-8", "ok\n");
  }

  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<ScrapeApp>(); }

 private:
  std::vector<metrics::CounterChild*> routes_;
  std::vector<metrics::GaugeChild*> queues_;
  std::vector<metrics::HistogramChild*> jobs_;
  // Shared by the handler threads of the threads worker class.
  std::atomic<std::size_t> served_ = 0;
};

}  // namespace
}  // namespace prefork::bench

PREFORK_APP(scrape_bench, prefork::bench::ScrapeApp::make);
