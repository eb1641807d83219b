#include "master/scrape_gate.hpp"

#include <algorithm>
#include <cstdint>

namespace prefork::master {

void ScrapeGate::scrape(std::function<void(Result<std::string>)> done) {
  if (closed_) return done(Status::error("the master is stopping"));
  auto waiter = std::make_unique<Waiter>();
  waiter->done = std::move(done);
  waiter->deadline = UvTimer(loop_, uv_timer_init);
  waiter->deadline->data = this;
  uv_timer_start(
      waiter->deadline.get(),
      [](uv_timer_t* timer) { static_cast<ScrapeGate*>(timer->data)->timed_out(timer); },
      std::uint64_t(std::max(timeout_seconds_, 0.001) * 1000), 0);
  waiters_.push_back(std::move(waiter));
  if (scraping_) return;
  scraping_ = true;
  reader_.scrape([this](Result<std::string> text) { finished(std::move(text)); });
}

void ScrapeGate::finished(Result<std::string> text) {
  scraping_ = false;
  std::vector<std::unique_ptr<Waiter>> waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& waiter : waiters) waiter->done(text);
}

void ScrapeGate::timed_out(uv_timer_t* deadline) {
  auto found = std::find_if(waiters_.begin(), waiters_.end(), [deadline](const auto& waiter) {
    return waiter->deadline.get() == deadline;
  });
  if (found == waiters_.end()) return;
  std::unique_ptr<Waiter> expired = std::move(*found);
  waiters_.erase(found);
  expired->done(Status::error("the metrics storage did not answer within " +
                              std::to_string(timeout_seconds_) + " s"));
}

void ScrapeGate::close() {
  closed_ = true;
  std::vector<std::unique_ptr<Waiter>> waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& waiter : waiters) waiter->done(Status::error("the master is stopping"));
}

}  // namespace prefork::master
