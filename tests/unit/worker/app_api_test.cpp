// The app API a handler uses in a real forked worker: Request::worker(), Worker::offload and
// Worker::post with move-only callables (a Responder captured by move), from the loop and from
// handler threads, and what happens when offloaded code throws.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/unit/worker/harness.hpp"

using namespace prefork;
using namespace prefork::testing;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Each route uses one part of the API:
//   /offload    computes on libuv's pool; the Responder moves into done, run on the loop
//   /post       answers from a thread of its own through worker.post, run on the loop
//   /nested     offloads from a posted task (the loop), answering from done
//   /work-throws  work throws: done is dropped, its Responder answers 500
//   /done-throws  done sends, then throws: the answer stands, the worker goes on
//   /post-throws  a posted task sends, then throws a non-standard exception (42)
//   /ready-throws a stream's on_ready callback, called when the client has read some, throws:
//                 the stream is aborted, the worker goes on
//   /id         the worker's id, through request.worker()
class AsyncApiApp final : public App {
 public:
  void on_worker_start(Worker&) override { loop_thread_ = std::this_thread::get_id(); }
  void handle(const Request& request, Responder responder) override {
    Worker& worker = request.worker();
    std::string_view path = request.path();
    if (path == "/offload") {
      auto result = std::make_unique<long>(0);
      long* sum = result.get();
      worker.offload([sum] { *sum = sum_to(1000); },
                     [this, result = std::move(result), r = std::move(responder)]() mutable {
                       r.send(Response::text(200, "sum " + std::to_string(*result) + where()));
                     });
    } else if (path == "/post") {
      std::thread([this, &worker, r = std::move(responder)]() mutable {
        worker.post([this, r = std::move(r)]() mutable {
          r.send(Response::text(200, "posted" + where()));
        });
      }).detach();
    } else if (path == "/nested") {
      worker.post([&worker, r = std::move(responder)]() mutable {
        worker.offload([] {},
                       [r = std::move(r)]() mutable { r.send(Response::text(200, "nested")); });
      });
    } else if (path == "/work-throws") {
      worker.offload(
          [] { throw std::runtime_error("work failed"); },
          [r = std::move(responder)]() mutable { r.send(Response::text(200, "unexpected")); });
    } else if (path == "/done-throws") {
      worker.offload([] {},
                     [r = std::move(responder)]() mutable {
                       r.send(Response::text(200, "sent first"));
                       throw std::runtime_error("done failed");
                     });
    } else if (path == "/post-throws") {
      worker.post([r = std::move(responder)]() mutable {
        r.send(Response::text(200, "posted first"));
        throw 42;
      });
    } else if (path == "/ready-throws") {
      // Streams belong to the loop: started from a posted task under worker_class "threads".
      worker.post([r = std::move(responder)]() mutable {
        auto stream = std::make_shared<Stream>(r.stream(Response::text(200, ""), 64 * mib));
        // Up to the high-water mark: on_ready runs once the socket has taken a write.
        const std::string piece(mib, 'x');
        while (stream->write(piece)) {
        }
        stream->on_ready([stream] { throw std::runtime_error("on_ready failed"); });
      });
    } else if (path == "/id") {
      responder.send(Response::text(200, std::to_string(worker.id())));
    } else {
      responder.send(Response::text(404, "no\n"));
    }
  }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<AsyncApiApp>(); }

 private:
  // Where a callback runs: the loop is where prefork promises post's tasks and offload's done.
  std::string where() const {
    return std::this_thread::get_id() == loop_thread_ ? " on the loop" : " elsewhere";
  }
  static long sum_to(long n) {
    long sum = 0;
    for (long i = 1; i <= n; ++i) sum += i;
    return sum;
  }
  std::thread::id loop_thread_;
};

// A sync app reaches its worker through the request as well.
class WorkerIdSyncApp final : public SyncApp {
 public:
  Response respond(const Request& request) override {
    return Response::text(200, "worker " + std::to_string(request.worker().id()));
  }
  static std::unique_ptr<App> make(const AppConfig&) { return std::make_unique<WorkerIdSyncApp>(); }
};

std::optional<HttpResponse> get(RawClient& client, const std::string& path) {
  client.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n");
  return client.read_response();
}

void check_body(RawClient& client, const std::string& path, int status, const std::string& body) {
  auto response = get(client, path);
  REQUIRE(response);
  CHECK(response->status == status);
  CHECK(response->body == body);
}

void check_every_route(const config::Config& config) {
  WorkerProcess worker(config, AsyncApiApp::make);
  REQUIRE(worker.booted());
  RawClient client(worker.port());
  check_body(client, "/offload", 200, "sum 500500 on the loop");
  check_body(client, "/post", 200, "posted on the loop");
  check_body(client, "/nested", 200, "nested");
  check_body(client, "/work-throws", 500, "Internal Server Error\n");
  check_body(client, "/done-throws", 200, "sent first");
  check_body(client, "/post-throws", 200, "posted first");
  // The worker lived through the exceptions: the same connection goes on.
  check_body(client, "/id", 200, "1");
  {
    // The stream is cut short, the worker serves on.
    RawClient streamed(worker.port());
    streamed.send("GET /ready-throws HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK_FALSE(streamed.read_response());
  }
  check_body(client, "/id", 200, "1");
}

}  // namespace

TEST_CASE("offload and post take move-only callables and answer through a captured Responder") {
  check_every_route(test_config());
}

TEST_CASE("threads worker class: offload and post from a handler thread") {
  config::Config config = test_config();
  config.worker_class = "threads";
  config.threads = 2;
  check_every_route(config);
}

TEST_CASE("pipelined requests answered from offloaded work still leave in order") {
  WorkerProcess worker(test_config(), AsyncApiApp::make);
  REQUIRE(worker.booted());
  RawClient client(worker.port());
  std::string batch;
  for (int i = 0; i < 8; ++i) {
    batch += i % 2 == 0 ? "GET /offload HTTP/1.1\r\nHost: h\r\n\r\n"
                        : "GET /post HTTP/1.1\r\nHost: h\r\n\r\n";
  }
  client.send(batch);
  for (int i = 0; i < 8; ++i) {
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == (i % 2 == 0 ? "sum 500500 on the loop" : "posted on the loop"));
  }
}

TEST_CASE("a sync app reaches its worker through request.worker()") {
  WorkerProcess worker(test_config(), WorkerIdSyncApp::make);
  REQUIRE(worker.booted());
  RawClient client(worker.port());
  check_body(client, "/", 200, "worker 1");
}

TEST_CASE("a Request made without a worker says so rather than crash") {
  Request request{Request::Fields{}};
  CHECK_THROWS_AS(request.worker(), std::logic_error);
  CHECK(request.route().empty());
  request.set_route("users");
  CHECK(request.route() == "users");
}
