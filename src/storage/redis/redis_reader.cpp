#include "storage/redis/redis_reader.hpp"

#include "metrics/exposition.hpp"
#include "storage/redis/keys.hpp"
#include "storage/scrape_job.hpp"

namespace prefork::storage {
namespace {

// /health answers within this (load balancers poll it with short timeouts); a PING slower
// than that counts as "not connected", a frozen Redis as much as a gone one.
constexpr std::uint64_t health_budget_ms = 50;

std::unique_ptr<ClusterFleet> cluster_fleet(const config::Config& config,
                                            const RedisEndpoint& endpoint) {
  if (scope_named(config.metrics.scope) != Scope::fleet || endpoint.cluster_nodes.empty())
    return nullptr;
  return std::make_unique<ClusterFleet>(endpoint, config.redis.key_prefix, config.redis.key_ttl());
}

}  // namespace

RedisReader::RedisReader(const config::Config& config, uv_loop_t* loop,
                         const RedisEndpoint& endpoint)
    : loop_(loop),
      scrape_client_(endpoint),
      scrape_dict_(scrape_client_, config.redis.key_prefix, config.redis.key_ttl(),
                   key_instance(config.redis, config.metrics.instance)),
      fleet_(cluster_fleet(config, endpoint)),
      collector_(scrape_dict_, scope_named(config.metrics.scope), fleet_.get()),
      health_client_(endpoint),
      scrape_lane_(loop, "Metrics scrapes", 0),
      health_lane_(loop, "Metrics health check", 0) {}

RedisReader::~RedisReader() {
  scrape_lane_.drain(false);
  health_lane_.drain(false);
}

void RedisReader::close_in_child() {
  scrape_client_.close_in_child();
  health_client_.close_in_child();
  if (fleet_) fleet_->close_in_child();
}

void RedisReader::scrape(std::function<void(Result<std::string>)> done) {
  push_scrape(
      scrape_lane_, [this] { return render_scrape(); }, std::move(done));
}

// On the scrape lane.
std::string RedisReader::render_scrape() {
  std::vector<metrics::Family> families = collector_.collect();
  floor_.apply(families);
  return metrics::render_text(families);
}

void RedisReader::check_health(std::function<void(const Health&)> done) {
  auto waiter = std::make_unique<HealthWaiter>();
  waiter->done = std::move(done);
  waiter->budget = UvTimer(loop_, uv_timer_init);
  waiter->budget->data = this;
  uv_timer_start(
      waiter->budget.get(),
      [](uv_timer_t* timer) {
        // Still waiting for the PING after the budget: Redis is too slow to count as there.
        static_cast<RedisReader*>(timer->data)->answer_health(false);
      },
      health_budget_ms, 0);
  health_waiters_.push_back(std::move(waiter));
  if (health_lane_.running()) return;
  health_lane_.push({[this] {
                       return health_client_.ping() ? Status()
                                                    : Status::error("Redis does not answer PING");
                     },
                     [this](const Status& status) {
                       connected_ = status.ok();
                       answer_health(connected_);
                     }});
}

void RedisReader::answer_health(bool connected) {
  std::vector<std::unique_ptr<HealthWaiter>> waiters = std::move(health_waiters_);
  health_waiters_.clear();
  for (auto& waiter : waiters) waiter->done({"redis", connected, connected, false});
}

void RedisReader::shut_down() {
  answer_health(connected_);
  scrape_lane_.drain(false);
  health_lane_.drain(false);
}

}  // namespace prefork::storage
