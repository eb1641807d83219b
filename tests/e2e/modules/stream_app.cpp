// Streamed answers for tests/e2e/streaming_test.cpp. Bodies are the letters a..z repeated, so a
// client can check every byte without the app keeping a copy.
//   /bytes?n=N[&chunk=C][&length]  N bytes in writes of C, paced by back-pressure; with
//                                  `length` announced as Content-Length, else chunked
//   /events?n=K&ms=M               K server-sent events, one every M ms (a timer on the loop)
//   /short?n=N                     announces N bytes, writes N - 1, ends: the connection resets
//   /over                          announces 5 bytes, writes 10: the connection resets
//   /abandon                       head and a few bytes, then the Stream is destroyed
//   /thread-end                    "abc", then end() from a thread of libuv's pool
//   /stats                         "closed=K": streams that found their client gone
//   /                              "ok" (whole, not streamed)
#include <uv.h>
#include <prefork/app.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t max_chunk = 1 << 20;

std::size_t query_number(std::string_view query, std::string_view name, std::size_t fallback) {
  std::size_t at = 0;
  while (at < query.size()) {
    std::size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(at, end - at);
    if (pair.substr(0, name.size()) == name && pair.size() > name.size() &&
        pair[name.size()] == '=') {
      std::size_t value = fallback;
      std::string_view digits = pair.substr(name.size() + 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), value);
      return value;
    }
    at = end + 1;
  }
  return fallback;
}

bool query_has(std::string_view query, std::string_view name) {
  return ("&" + std::string(query) + "&").find("&" + std::string(name) + "&") != std::string::npos;
}

class StreamApp;

// Writes a..z bytes until the stream says wait, then resumes from on_ready.
struct Producer {
  StreamApp& app;
  prefork::Stream stream;
  std::size_t left;
  std::size_t chunk;
  std::size_t sent = 0;

  static void pump(const std::shared_ptr<Producer>& self);
};

// One server-sent event per tick of a timer on the worker's loop; freed in the timer's close
// callback.
struct Events {
  StreamApp& app;
  prefork::Stream stream;
  std::size_t left;
  std::size_t sent = 0;
  uv_timer_t timer;

  static void tick(uv_timer_t* timer);
  void finish() {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* handle) { delete static_cast<Events*>(handle->data); });
  }
};

class StreamApp final : public prefork::App {
 public:
  StreamApp() : letters_(max_chunk + 26, '\0') {
    for (std::size_t i = 0; i < letters_.size(); ++i) letters_[i] = char('a' + i % 26);
  }

  void on_worker_start(prefork::Worker& worker) override { worker_ = &worker; }

  void handle(const prefork::Request& request, prefork::Responder responder) override {
    std::string_view path = request.path(), query = request.query();
    if (path == "/bytes") return bytes(query, std::move(responder));
    if (path == "/events") return events(query, std::move(responder));
    if (path == "/short") {
      std::size_t size = query_number(query, "n", 10);
      prefork::Stream stream = responder.stream(octets(), size);
      stream.write(letters(0, size - 1));
      stream.end();
      return;
    }
    if (path == "/over") {
      prefork::Stream stream = responder.stream(octets(), 5);
      stream.write(letters(0, 10));
      stream.end();
      return;
    }
    if (path == "/abandon") {
      prefork::Stream stream = responder.stream(octets());
      stream.write(letters(0, 100));
      return;
    }
    if (path == "/thread-end") {
      auto stream = std::make_shared<prefork::Stream>(responder.stream(octets()));
      stream->write("abc");
      worker_->offload([stream] { stream->end(); }, [] {});
      return;
    }
    if (path == "/stats") {
      return responder.send(prefork::Response::text(200, "closed=" + std::to_string(closed_)));
    }
    responder.send(prefork::Response::text(200, "ok"));
  }

  // size bytes of the a..z sequence from the body offset `from`.
  std::string_view letters(std::size_t from, std::size_t size) const {
    return std::string_view(letters_).substr(from % 26, size);
  }
  void count_closed() { ++closed_; }

 private:
  static prefork::Response octets() {
    return prefork::Response::view(200, "application/octet-stream", {});
  }

  void bytes(std::string_view query, prefork::Responder responder) {
    std::size_t size = query_number(query, "n", 0);
    std::size_t chunk = std::clamp<std::size_t>(query_number(query, "chunk", 65536), 1, max_chunk);
    std::optional<std::size_t> length;
    if (query_has(query, "length")) length = size;
    auto producer = std::make_shared<Producer>(
        Producer{*this, responder.stream(octets(), length), size, chunk});
    Producer::pump(producer);
  }

  void events(std::string_view query, prefork::Responder responder) {
    prefork::Response head = prefork::Response::empty(200);
    head.content_type = "text/event-stream";
    head.headers.emplace_back("Cache-Control", "no-cache");
    auto* events =
        new Events{*this, responder.stream(std::move(head)), query_number(query, "n", 3), 0, {}};
    uv_timer_init(worker_->loop(), &events->timer);
    events->timer.data = events;
    std::uint64_t every = query_number(query, "ms", 50);
    uv_timer_start(&events->timer, Events::tick, every, every);
  }

  std::string letters_;
  prefork::Worker* worker_ = nullptr;
  std::size_t closed_ = 0;
};

void Producer::pump(const std::shared_ptr<Producer>& self) {
  Producer& producer = *self;
  while (producer.left > 0) {
    std::size_t size = std::min(producer.chunk, producer.left);
    bool more = producer.stream.write(producer.app.letters(producer.sent, size));
    if (producer.stream.closed()) {
      producer.app.count_closed();
      return;  // the last owner lets go: the Stream is destroyed, which is all that is left
    }
    producer.left -= size;
    producer.sent += size;
    if (!more && producer.left > 0) {
      producer.stream.on_ready([self] { pump(self); });
      return;
    }
  }
  producer.stream.end();
}

void Events::tick(uv_timer_t* timer) {
  Events& events = *static_cast<Events*>(timer->data);
  if (events.stream.closed()) {
    events.app.count_closed();
    events.finish();
    return;
  }
  events.stream.write("id: " + std::to_string(events.sent) + "\ndata: event " +
                      std::to_string(events.sent) + "\n\n");
  ++events.sent;
  if (--events.left == 0) {
    events.stream.end();
    events.finish();
  }
}

std::unique_ptr<prefork::App> make_stream(const prefork::AppConfig&) {
  return std::make_unique<StreamApp>();
}

}  // namespace

PREFORK_APP(stream, make_stream);
