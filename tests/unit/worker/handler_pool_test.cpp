// worker_class = "threads": handlers run on the pool's threads, every request gets exactly one
// answer (500 when the handler throws or drops its Responder), a throw is reported with its
// type, the pool tells when each handler has returned, and the pool stops cleanly.
#include "worker/handler_pool.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using prefork::Request;
using prefork::Responder;
using prefork::Response;
using prefork::worker::HandlerPool;
namespace detail = prefork::detail;

namespace {

// Collects answers by token, as the server's loop would.
class Answers : public detail::ResponseSink {
 public:
  void complete(std::uint64_t token, Response&& response) override {
    std::lock_guard lock(mutex_);
    ++count_[token];
    status_[token] = response.status;
    changed_.notify_all();
  }
  // Streams are refused as the server refuses them off its loop.
  detail::StreamSink* start_stream(std::uint64_t token, Response&&,
                                   std::optional<std::size_t>) override {
    complete(token, Response::empty(500));
    return nullptr;
  }
  bool wait_for(std::size_t answered) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return count_.size() >= answered; });
  }
  int status(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    return status_[token];
  }
  int times(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    return count_[token];
  }
  // The pool's hook for a returned handler: records whether the token was answered by then.
  HandlerPool::Returned returned() {
    return [this](std::uint64_t token) {
      std::lock_guard lock(mutex_);
      returned_[token] = count_[token] == 1 ? "after its answer" : "before its answer";
    };
  }
  std::string returned(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    return returned_[token];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, int> count_;
  std::map<std::uint64_t, int> status_;
  std::map<std::uint64_t, std::string> returned_;
};

// Token 1 throws (from the route "thrower"), token 2 drops its Responder, the others answer 200;
// records its threads.
class TestApp final : public prefork::App {
 public:
  void handle(const Request& request, Responder responder) override {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    std::uint64_t token = next.fetch_add(1);
    if (token == 1) {
      request.set_route("thrower");
      throw std::runtime_error("handler bug");
    }
    if (token == 2) return;
    responder.send(Response::text(200, "ok\n"));
  }
  std::atomic<std::uint64_t> next{1};
  std::mutex mutex;
  std::set<std::thread::id> threads;
};

// What the pool reports of handlers' exceptions, from its threads.
struct Failures {
  std::mutex mutex;
  std::vector<std::string> reported;  // "METHOD ROUTE TYPE"
  prefork::worker::HandlerFailure report() {
    return [this](std::string_view method, std::string_view route, std::string error_type) {
      std::lock_guard lock(mutex);
      reported.push_back(std::string(method) + " " + std::string(route) + " " + error_type);
    };
  }
};

}  // namespace

TEST_CASE("every request is answered once, off the caller's thread; failures answer 500") {
  TestApp app;
  Answers answers;
  Failures failures;
  Request request{Request::Fields{}};
  {
    HandlerPool pool(app, answers, 4, failures.report(), answers.returned());
    for (std::uint64_t token = 1; token <= 100; ++token) pool.submit(request, token);
    REQUIRE(answers.wait_for(100));
  }
  for (std::uint64_t token = 1; token <= 100; ++token) {
    CHECK(answers.times(token) == 1);
    // The server keeps the request until then.
    CHECK(answers.returned(token) == "after its answer");
  }
  CHECK(app.threads.count(std::this_thread::get_id()) == 0);
  CHECK(app.threads.size() <= 4);
  // Which token the throwing call answered depends on scheduling; two of them are 500.
  int failed = 0;
  for (std::uint64_t token = 1; token <= 100; ++token) failed += answers.status(token) == 500;
  CHECK(failed == 2);
  // The throw, not the dropped Responder; a request without a method is labelled OTHER.
  CHECK(failures.reported == std::vector<std::string>{"OTHER thrower std::runtime_error"});
}

TEST_CASE("a pool stops with no work, and with fewer than one thread asked it has one") {
  TestApp app;
  Answers answers;
  Request request{Request::Fields{}};
  Failures failures;
  HandlerPool pool(app, answers, 0, failures.report(), answers.returned());
  pool.submit(request, 7);
  CHECK(answers.wait_for(1));
}

namespace {

// The server's sink: offers every answer to the handler call running on this thread first.
class HoldingAnswers final : public detail::ResponseSink {
 public:
  void complete(std::uint64_t token, Response&& response) override {
    if (prefork::worker::HandlerCall::hold(token, response)) return;
    statuses.push_back(response.status);
  }
  detail::StreamSink* start_stream(std::uint64_t, Response&&, std::optional<std::size_t>) override {
    return nullptr;
  }
  std::vector<int> statuses;
};

// Answers, checks that the answer has not gone out yet, then throws from a named route.
class SendThenThrowApp final : public prefork::App {
 public:
  explicit SendThenThrowApp(HoldingAnswers& answers) : answers_(answers) {}
  void handle(const Request& request, Responder responder) override {
    responder.send(Response::text(200, "ok\n"));
    delivered_during_call = answers_.statuses.size();
    request.set_route("users");
    throw std::invalid_argument("after the answer");
  }
  std::size_t delivered_during_call = 99;

 private:
  HoldingAnswers& answers_;
};

}  // namespace

TEST_CASE(
    "an answer sent inside the handler call waits for its end, so the catch reads the route") {
  HoldingAnswers answers;
  SendThenThrowApp app(answers);
  Failures failures;
  Request request{Request::Fields{}};
  prefork::worker::call_handler(app, request, answers, 5, failures.report());
  CHECK(app.delivered_during_call == 0);
  CHECK(answers.statuses == std::vector<int>{200});
  CHECK(failures.reported == std::vector<std::string>{"OTHER users std::invalid_argument"});
  // Another token, or no call running: delivered at once.
  Response response = Response::empty(204);
  CHECK_FALSE(prefork::worker::HandlerCall::hold(5, response));
}

TEST_CASE("a request without a route is labelled other") {
  Request request{Request::Fields{}};
  CHECK(prefork::worker::route_label(request) == "other");
  request.set_route("items");
  CHECK(prefork::worker::route_label(request) == "items");
}
