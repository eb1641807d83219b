// worker_class = "threads": handlers run on a pool of threads, answers return to the loop.
#pragma once

#include <prefork/app.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "worker/handler_call.hpp"

namespace prefork::worker {

class HandlerPool {
 public:
  // failed: told on a pool thread, inside the catch, of every exception a handler throws.
  HandlerPool(App& app, detail::ResponseSink& sink, int threads, HandlerFailure failed);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // The request must stay valid until the sink receives the answer for token.
  void submit(const Request& request, std::uint64_t token);

 private:
  struct Job {
    const Request* request;
    std::uint64_t token;
  };
  void serve();

  App& app_;
  detail::ResponseSink& sink_;
  HandlerFailure failed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace prefork::worker
