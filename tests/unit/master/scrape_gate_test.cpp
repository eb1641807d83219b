// ScrapeGate: scrapes that arrive while one runs share it, a slow one is answered at the
// timeout, and after close() nothing reaches the reader. The reader is a stand-in that
// answers when the test says.
#include "master/scrape_gate.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace prefork;

namespace {

class HeldReader final : public storage::Reader {
 public:
  void scrape(std::function<void(Result<std::string>)> done) override {
    ++scrapes;
    pending = std::move(done);
  }
  void check_health(std::function<void(const storage::Health&)> done) override { done({}); }
  void shut_down() override {}

  void answer(std::string text) {
    auto done = std::move(pending);
    pending = nullptr;
    done(std::move(text));
  }

  int scrapes = 0;
  std::function<void(Result<std::string>)> pending;
};

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  uv_loop_t loop;
};

}  // namespace

TEST_CASE("scrapes that arrive while one runs share its answer") {
  Loop loop;
  HeldReader reader;
  std::vector<std::string> answers;
  {
    master::ScrapeGate gate(&loop.loop, reader, 5);
    for (int i = 0; i < 3; ++i)
      gate.scrape([&](Result<std::string> text) { answers.push_back(text.value()); });
    CHECK(reader.scrapes == 1);
    reader.answer("metrics");
  }
  CHECK(answers == std::vector<std::string>{"metrics", "metrics", "metrics"});
}

TEST_CASE("a scrape the reader does not answer in time gets an error at the timeout") {
  Loop loop;
  HeldReader reader;
  std::optional<Result<std::string>> answer;
  master::ScrapeGate gate(&loop.loop, reader, 0.01);
  gate.scrape([&](Result<std::string> text) { answer = std::move(text); });
  while (!answer) uv_run(&loop.loop, UV_RUN_ONCE);
  CHECK_FALSE(answer->ok());
  CHECK(answer->message().find("did not answer within") != std::string::npos);
  reader.answer("late");  // finds nobody waiting
}

TEST_CASE("after close, waiting and later scrapes get an error and the reader is not asked") {
  Loop loop;
  HeldReader reader;
  std::vector<bool> ok;
  master::ScrapeGate gate(&loop.loop, reader, 5);
  gate.scrape([&](Result<std::string> text) { ok.push_back(text.ok()); });
  gate.close();
  gate.scrape([&](Result<std::string> text) { ok.push_back(text.ok()); });
  CHECK(ok == std::vector<bool>{false, false});
  CHECK(reader.scrapes == 1);
}
