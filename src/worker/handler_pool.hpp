// worker_class = "threads": handlers run on a pool of threads, answers return to the loop.
#pragma once

#include <prefork/app.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace prefork::worker {

class HandlerPool {
 public:
  // Told on a pool thread, inside the catch, of every exception a handler throws: the
  // request's method_label() and current_exception_type().
  using FailureReport = std::function<void(std::string_view method, std::string error_type)>;

  HandlerPool(App& app, detail::ResponseSink& sink, int threads, FailureReport failed);
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
  FailureReport failed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace prefork::worker
