// Between the metrics endpoint and a storage reader: scrapes that arrive while one runs share
// its result, and each is answered within metrics.scrape_timeout (with an error after it), so
// that a slow storage never holds a scraper longer than that. Health checks go straight
// through: the reader answers them within milliseconds.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/uv_handle.hpp"
#include "storage/backend.hpp"

namespace prefork::master {

class ScrapeGate {
 public:
  ScrapeGate(uv_loop_t* loop, storage::Reader& reader, double timeout_seconds)
      : loop_(loop), reader_(reader), timeout_seconds_(timeout_seconds) {}
  ScrapeGate(const ScrapeGate&) = delete;
  ScrapeGate& operator=(const ScrapeGate&) = delete;

  // The aggregated text 0.0.4, or why not, on the loop.
  void scrape(std::function<void(Result<std::string>)> done);
  void check_health(std::function<void(const storage::Health&)> done) {
    reader_.check_health(std::move(done));
  }
  // Answers every waiting scrape with an error, and every later one at once: the process is
  // stopping, and a scrape started now could finish after the gate is gone.
  void close();

 private:
  struct Waiter {
    std::function<void(Result<std::string>)> done;
    UvTimer deadline;
  };

  void finished(Result<std::string> text);
  void timed_out(uv_timer_t* deadline);

  uv_loop_t* loop_;
  storage::Reader& reader_;
  double timeout_seconds_;
  std::vector<std::unique_ptr<Waiter>> waiters_;
  bool scraping_ = false;
  bool closed_ = false;
};

}  // namespace prefork::master
