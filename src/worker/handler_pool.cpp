#include "worker/handler_pool.hpp"

#include <utility>

namespace prefork::worker {

HandlerPool::HandlerPool(App& app, detail::ResponseSink& sink, int threads, HandlerFailure failed,
                         Returned returned)
    : app_(app), sink_(sink), failed_(std::move(failed)), returned_(std::move(returned)) {
  if (threads < 1) threads = 1;
  threads_.reserve(std::size_t(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { serve(); });
}

HandlerPool::~HandlerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void HandlerPool::submit(const Request& request, std::uint64_t token) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{&request, token});
  }
  wake_.notify_one();
}

void HandlerPool::serve() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    call_handler(app_, *job.request, sink_, job.token, failed_);
    returned_(job.token);
  }
}

}  // namespace prefork::worker
