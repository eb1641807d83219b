// UniqueFunction: move-only targets (a Responder, a unique_ptr), each target destroyed exactly
// once whether it lives inside the object or on the heap, the empty state, and no allocation
// for small targets.
#include <prefork/app.hpp>
#include <prefork/unique_function.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using prefork::Responder;
using prefork::Response;
using prefork::UniqueFunction;

namespace {

// Allocations made through operator new by this program, to tell inline targets from heap ones.
std::size_t allocations = 0;

}  // namespace

void* operator new(std::size_t size) {
  ++allocations;
  if (void* memory = std::malloc(size ? size : 1)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}

namespace {

static_assert(std::is_nothrow_move_constructible_v<UniqueFunction<void()>>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFunction<void()>>);
static_assert(!std::is_copy_constructible_v<UniqueFunction<void()>>);
static_assert(!std::is_constructible_v<UniqueFunction<void()>, int>);
static_assert(!std::is_constructible_v<UniqueFunction<int()>, void (*)()>);

// Counts how often the resource it stands for is released: moved-from copies release nothing.
class Resource {
 public:
  explicit Resource(int* released) : released_(released) {}
  Resource(Resource&& other) noexcept : released_(std::exchange(other.released_, nullptr)) {}
  Resource& operator=(Resource&&) = delete;
  ~Resource() {
    if (released_) ++*released_;
  }

 private:
  int* released_;
};

// A target too large to live inside the object.
struct Large {
  Resource resource;
  std::array<char, 256> padding{};
  int operator()() const { return int(padding.size()); }
};

// A target whose move may throw: kept on the heap, so that moving the function cannot throw.
struct ThrowingMove {
  ThrowingMove() = default;
  ThrowingMove(ThrowingMove&&) noexcept(false) {}
  int operator()() const { return 7; }
};

// Answers by status, as the worker's loop would.
class Sink final : public prefork::detail::ResponseSink {
 public:
  void complete(std::uint64_t, Response&& response) override {
    statuses.push_back(response.status);
  }
  prefork::detail::StreamSink* start_stream(std::uint64_t, Response&&,
                                            std::optional<std::size_t>) override {
    return nullptr;
  }
  std::vector<int> statuses;
};

}  // namespace

TEST_CASE("an empty function is false and throws bad_function_call when called") {
  UniqueFunction<void()> none;
  CHECK_FALSE(none);
  CHECK(none == nullptr);
  CHECK_THROWS_AS(none(), std::bad_function_call);
  UniqueFunction<void()> null_pointer = static_cast<void (*)()>(nullptr);
  CHECK_FALSE(null_pointer);
  UniqueFunction<void()> from_nullptr = nullptr;
  CHECK_FALSE(from_nullptr);
}

TEST_CASE("a target is called with the arguments and gives back its result") {
  UniqueFunction<int(int, int)> add = [](int a, int b) { return a + b; };
  REQUIRE(add);
  CHECK(add(2, 3) == 5);
  UniqueFunction<std::string(std::string)> shout = [](std::string text) { return text + "!"; };
  CHECK(shout("hi") == "hi!");
  UniqueFunction<int()> pointer = +[] { return 4; };
  CHECK(pointer() == 4);
  // The result is discarded for a void signature.
  int calls = 0;
  UniqueFunction<void()> discard = [&calls] { return ++calls; };
  discard();
  CHECK(calls == 1);
}

TEST_CASE("a mutable target keeps its state between calls") {
  UniqueFunction<int()> counter = [count = 0]() mutable { return ++count; };
  CHECK(counter() == 1);
  CHECK(counter() == 2);
  UniqueFunction<int()> moved = std::move(counter);
  CHECK(moved() == 3);
}

TEST_CASE("move-only captures: a unique_ptr moves with the function, which leaves an empty one") {
  auto value = std::make_unique<int>(41);
  UniqueFunction<int()> function = [owned = std::move(value)] { return *owned + 1; };
  UniqueFunction<int()> moved = std::move(function);
  CHECK_FALSE(function);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(moved() == 42);
  UniqueFunction<int()> assigned;
  assigned = std::move(moved);
  CHECK_FALSE(moved);  // NOLINT(bugprone-use-after-move)
  CHECK(assigned() == 42);
}

TEST_CASE("a small target is released exactly once, after any number of moves") {
  int released = 0;
  {
    UniqueFunction<void()> first = [resource = Resource(&released)] {};
    UniqueFunction<void()> second = std::move(first);
    UniqueFunction<void()> third;
    third = std::move(second);
    std::vector<UniqueFunction<void()>> many;
    many.push_back(std::move(third));
    many.resize(100);  // the vector moves its elements as it grows
    CHECK(released == 0);
  }
  CHECK(released == 1);
}

TEST_CASE("a large target lives on the heap and is released exactly once") {
  int released = 0;
  {
    std::size_t before = allocations;
    UniqueFunction<int()> first = Large{Resource(&released)};
    std::size_t made = allocations;
    UniqueFunction<int()> second = std::move(first);
    std::size_t moved = allocations;
    CHECK(made == before + 1);
    CHECK(moved == made);  // moving hands the pointer over
    CHECK(second() == 256);
    CHECK(released == 0);
  }
  CHECK(released == 1);
}

TEST_CASE("a small target allocates nothing") {
  std::size_t before = allocations;
  int a = 1, b = 2;
  UniqueFunction<int()> function = [&a, &b] { return a + b; };
  UniqueFunction<int()> moved = std::move(function);
  int result = moved();
  std::size_t after = allocations;
  CHECK(result == 3);
  CHECK(after == before);
}

TEST_CASE("assigning over a target, or nullptr, releases the old one at once") {
  int released_first = 0, released_second = 0;
  UniqueFunction<void()> function = [resource = Resource(&released_first)] {};
  function = UniqueFunction<void()>([resource = Resource(&released_second)] {});
  CHECK(released_first == 1);
  CHECK(released_second == 0);
  function = nullptr;
  CHECK_FALSE(function);
  CHECK(released_second == 1);
}

TEST_CASE("swap exchanges targets") {
  UniqueFunction<int()> one = [] { return 1; };
  UniqueFunction<int()> large = [padding = std::array<char, 128>{}] { return int(padding.size()); };
  one.swap(large);
  CHECK(one() == 128);
  CHECK(large() == 1);
}

TEST_CASE("targets that could throw while moving, and over-aligned ones, still work") {
  UniqueFunction<int()> throwing = ThrowingMove{};
  UniqueFunction<int()> moved = std::move(throwing);
  CHECK(moved() == 7);
  struct alignas(64) Aligned {
    int value = 9;
    int operator()() const {
      CHECK(reinterpret_cast<std::uintptr_t>(this) % 64 == 0);
      return value;
    }
  };
  UniqueFunction<int()> aligned = Aligned{};
  UniqueFunction<int()> aligned_moved = std::move(aligned);
  CHECK(aligned_moved() == 9);
}

TEST_CASE("a std::function is a target like any other") {
  std::function<int(int)> twice = [](int x) { return 2 * x; };
  UniqueFunction<int(int)> function = twice;
  CHECK(function(21) == 42);
}

TEST_CASE("a Responder captured by a function answers once: sent when called, 500 if dropped") {
  Sink sink;
  {
    UniqueFunction<void()> answer = [responder = Responder(&sink, 1)]() mutable {
      responder.send(Response::text(200, "ok\n"));
    };
    UniqueFunction<void()> moved = std::move(answer);
    CHECK(sink.statuses.empty());
    moved();
  }
  CHECK(sink.statuses == std::vector<int>{200});
  {
    UniqueFunction<void()> dropped = [responder = Responder(&sink, 2)] {};
    UniqueFunction<void()> moved = std::move(dropped);
  }
  CHECK(sink.statuses == std::vector<int>{200, 500});
}
