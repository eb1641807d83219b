#include "worker/handler_pool.hpp"

#include <exception>

#include "core/log.hpp"
#include "worker/builtin_metrics.hpp"
#include "worker/exception_type.hpp"

namespace prefork::worker {

HandlerPool::HandlerPool(App& app, detail::ResponseSink& sink, int threads, FailureReport failed)
    : app_(app), sink_(sink), failed_(std::move(failed)) {
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
    // Read first: an exception destroys the Responder unsent, which answers 500 and may
    // release the request before the catch runs.
    std::string_view method = method_label(job.request->method());
    try {
      app_.handle(*job.request, Responder(&sink_, job.token));
    } catch (const std::exception& error) {
      log::error("handler failed: ", error.what());
      failed_(method, current_exception_type());
    } catch (...) {
      log::error("handler failed with a non-standard exception");
      failed_(method, current_exception_type());
    }
  }
}

}  // namespace prefork::worker
