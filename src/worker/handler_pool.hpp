// worker_class = "threads": handlers run on a pool of threads, answers return to the loop.
#pragma once

#include <prefork/app.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "worker/handler_call.hpp"

namespace prefork::worker {

class HandlerPool {
 public:
  // Told on a pool thread that the handler for token has returned (or thrown), after its held
  // answer went to the sink.
  using Returned = std::function<void(std::uint64_t token)>;

  // failed: told on a pool thread, inside the catch, of every exception a handler throws.
  HandlerPool(App& app, detail::ResponseSink& sink, int threads, HandlerFailure failed,
              Returned returned);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // The request must stay valid until returned is told of token: the handler may read it after
  // its answer was sent from another thread.
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
  Returned returned_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace prefork::worker
