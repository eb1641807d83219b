// libFuzzer harness for the HTTP read path: http::Parser driven exactly as worker::Connection
// drives it (see tests/fuzz/README.md).
//
// The input is the byte stream a client sends, as is (the seed corpus is plain HTTP). Everything
// else is derived from a hash of the input, so a run is reproducible from the input alone:
//
//  - the stream is parsed in one piece into a big buffer: the reference;
//  - then it is fed to ConnectionModel, a faithful copy of the read path of
//    src/worker/connection.cpp (on_alloc, on_read, on_buffer_full, process_input,
//    parse_available, dispatch_message, reject, send_continue_if_expected, answer,
//    release_answered, make_room, compact, after_batch, update_reading, release_if_idle), once a
//    byte per read and twice with read sizes and answer timings drawn from the hash. Connection
//    cannot be driven without libuv sockets, a Server and an app, so its logic is mirrored here
//    line by line, with the buffer sizes scaled down (16 KiB initial buffer, 4 KiB minimum read
//    space become 64 and 16 bytes) so that compaction, growth and a full buffer happen with
//    inputs of a few KiB. Keep it in step with connection.cpp.
//  - each of the three limit profiles below (gunicorn's defaults, tiny limits, none) is run.
//
// Invariants (a violation traps, which libFuzzer reports as a crash):
//  - every message has its target, fields and body inside its own bytes of the buffer, a
//    token field name, no CR/LF/NUL in a value, at most one Host, Content-Length and
//    Transfer-Encoding never together, no chunked on HTTP/1.0, a body of exactly Content-Length
//    bytes, and the limits (request line, field count and size, body size) hold;
//  - split invariance: the connection parses the same messages (method, target, version, fields,
//    body, flags, length) and ends with the same error as the reference, cut after the first
//    message that closes the connection. The only allowed differences are refusals for size:
//    the parser's head cap, measured where a read ends, or a full buffer, only when the
//    reference's message there is at least that large, or is refused or incomplete itself; and
//    413/414/431 where the reference refuses the same request for another fault (a span reaches
//    the limit checks where a read ends, or where it ends, which a malformed one may never do);
//  - every dispatched request is answered once, answers leave in request order, a refusal is the
//    last thing written and nothing is parsed after it, "100 Continue" is only sent for the
//    request being read when every earlier one is answered, and never twice;
//  - a request handed to the app still reads the same bytes when it is answered (the buffer does
//    not move or get overwritten under it), and a connection never stalls: it is reading, has
//    answers to wait for, or has finished.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "http/parser.hpp"

namespace {

using prefork::config::Limits;
using prefork::http::Message;
using prefork::http::Parser;

// Which run is going on, for the report of a violation.
char context[256] = "";

[[noreturn]] void violated(const char* what, int line) {
  std::fprintf(stderr, "http_read_path: invariant violated (line %d): %s\n  in %s\n", line, what,
               context);
  std::fflush(stderr);
  __builtin_trap();
}

#define CHECK(condition)                              \
  do {                                                \
    if (!(condition)) violated(#condition, __LINE__); \
  } while (0)

// ---- small helpers -----------------------------------------------------------------------

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t size) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ULL;
  return hash;
}

struct Rng {
  std::uint64_t state;
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t bound) { return bound == 0 ? 0 : std::size_t(next() % bound); }
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Mirrors head_cap_for in src/http/parser.cpp.
std::size_t head_cap_of(const Limits& limits) {
  if (limits.request_line <= 0 || limits.request_fields <= 0 || limits.request_field_size <= 0) {
    return std::size_t(1) << 20;
  }
  return std::size_t(limits.request_line) + 2 +
         std::size_t(limits.request_fields) * (std::size_t(limits.request_field_size) + 4) + 2;
}

// ---- what a message is, copied out of the buffer -----------------------------------------

struct Record {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t length = 0;
  int major = 0, minor = 0;
  bool keep_alive = false, head = false, expect_continue = false, upgrade = false;

  bool closes() const { return !keep_alive || upgrade; }
  bool operator==(const Record& other) const {
    return method == other.method && target == other.target && body == other.body &&
           fields == other.fields && length == other.length && major == other.major &&
           minor == other.minor && keep_alive == other.keep_alive && head == other.head &&
           expect_continue == other.expect_continue && upgrade == other.upgrade;
  }
};

// Checks one complete message as the parser reports it and copies it out. `end` is
// parser.position(): the message's bytes are buffer[message.start, end).
Record inspect(Parser& parser, const char* buffer, const Limits& limits) {
  const Message& message = parser.message();
  std::size_t end = parser.position();
  CHECK(message.start <= end);
  std::size_t span = end - message.start;
  CHECK(message.length >= span);
  const char* base = buffer + message.start;
  auto inside = [&](std::size_t offset, std::size_t length) {
    return offset <= span && length <= span - offset;
  };
  Record record;
  record.method = message.method;
  CHECK(!record.method.empty());
  CHECK(inside(message.target_offset, message.target_length));
  CHECK(message.target_length > 0);
  record.target.assign(base + message.target_offset, message.target_length);
  for (char c : record.target) CHECK(c != ' ' && c != '\r' && c != '\n' && c != '\0');
  if (limits.request_line > 0) {
    CHECK(record.method.size() + 1 + record.target.size() + 9 <= std::size_t(limits.request_line));
  }
  if (limits.request_fields > 0) CHECK(message.fields.size() <= std::size_t(limits.request_fields));
  int hosts = 0, lengths = 0, encodings = 0;
  std::uint64_t content_length = 0;
  for (const auto& field : message.fields) {
    CHECK(inside(field.name_offset, field.name_length));
    CHECK(inside(field.value_offset, field.value_length));
    if (limits.request_field_size > 0) {
      CHECK(std::size_t(field.name_length) + field.value_length <=
            std::size_t(limits.request_field_size));
    }
    std::string name(base + field.name_offset, field.name_length);
    std::string value(base + field.value_offset, field.value_length);
    CHECK(!name.empty());
    for (char c : name) CHECK(is_tchar(c));
    for (char c : value) CHECK(c != '\r' && c != '\n' && c != '\0');
    if (iequals(name, "host")) ++hosts;
    if (iequals(name, "transfer-encoding")) ++encodings;
    if (iequals(name, "content-length")) {
      ++lengths;
      // llhttp allows spaces around the digits only.
      content_length = 0;
      for (char c : value) {
        if (c >= '0' && c <= '9') {
          content_length =
              std::min<std::uint64_t>(content_length * 10 + std::uint64_t(c - '0'), UINT32_MAX);
        } else {
          CHECK(c == ' ' || c == '\t');
        }
      }
    }
    record.fields.emplace_back(std::move(name), std::move(value));
  }
  CHECK(hosts <= 1);
  CHECK(lengths <= 1);
  CHECK(!(lengths && encodings));
  CHECK(message.http_major == 1);
  CHECK(!(encodings && message.http_minor == 0));
  CHECK(message.http_minor == 0 || hosts == 1);
  CHECK(inside(message.body_offset, message.body_length) || message.body_length == 0);
  if (limits.max_body_size > 0) CHECK(message.body_length <= std::size_t(limits.max_body_size));
  // llhttp ends a CONNECT at its head, Content-Length or not: the connection closes after it
  // (upgrade), so the bytes after it are never taken for a request.
  bool connect = record.method == "CONNECT";
  if (connect) CHECK(message.upgrade && message.body_length == 0);
  if (lengths && !connect) CHECK(content_length == message.body_length);
  if (!lengths && !encodings) CHECK(message.body_length == 0);
  record.body.assign(base + message.body_offset, message.body_length);
  record.length = message.length;  // empty lines before a request are not part of it
  record.major = message.http_major;
  record.minor = message.http_minor;
  record.keep_alive = message.keep_alive;
  record.head = message.head;
  record.expect_continue = message.expect_continue;
  record.upgrade = message.upgrade;
  if (record.expect_continue) CHECK(record.minor >= 1);
  return record;
}

struct Outcomes {
  std::vector<Record> messages;
  int error = 0;
  bool size_refusal = false;  // the error is a refusal for size that a split may cause
  bool cut = false;           // stopped after a message that closes the connection
};

// The reference: the whole stream in one piece, in a buffer it fits.
Outcomes reference(const std::uint8_t* data, std::size_t size, const Limits& limits) {
  std::unique_ptr<char[]> buffer(new char[size + 1]);
  if (size) std::memcpy(buffer.get(), data, size);
  Parser parser(limits);
  Outcomes outcomes;
  std::size_t parsed = 0;
  while (parsed < size) {
    Parser::Outcome step = parser.execute(buffer.get(), parsed, size);
    if (step == Parser::Outcome::error) {
      outcomes.error = parser.error_status();
      CHECK(outcomes.error >= 400 && outcomes.error <= 599);
      break;
    }
    if (step == Parser::Outcome::need_more) {
      CHECK(parser.position() == size);
      break;
    }
    CHECK(parser.position() > parsed && parser.position() <= size);
    parsed = parser.position();
    outcomes.messages.push_back(inspect(parser, buffer.get(), limits));
    if (outcomes.messages.back().closes()) {
      outcomes.cut = true;
      break;
    }
  }
  return outcomes;
}

// ---- the connection's read path, mirrored from src/worker/connection.cpp -----------------

struct Geometry {
  std::size_t initial_read_buffer = 64;  // 16 KiB in connection.hpp
  std::size_t min_read_space = 16;       // 4 KiB in connection.cpp
  std::size_t max_buffer = 0;
};

// Mirrors buffer_limit in src/worker/server.cpp, its 16 KiB of read room scaled as above.
std::size_t buffer_limit(const Limits& limits, const Geometry& geometry) {
  std::size_t head =
      limits.request_line > 0 && limits.request_fields > 0 && limits.request_field_size > 0
          ? std::size_t(limits.request_line) +
                std::size_t(limits.request_fields) * (std::size_t(limits.request_field_size) + 4) +
                8
          : std::size_t(1) << 20;
  std::size_t body = limits.max_body_size > 0
                         ? std::size_t(limits.max_body_size) + 4 * geometry.min_read_space
                         : std::size_t(64) << 20;
  return head + body;
}

constexpr std::uint32_t pipeline_depth = 16;  // connection.hpp

// What the connection wrote, in order.
struct Written {
  enum class Kind { answer, refusal, continue_line };
  Kind kind;
  std::uint32_t sequence;
};

class ConnectionModel {
 public:
  ConnectionModel(const Limits& limits, const Geometry& geometry, Rng rng, bool byte_reads)
      : limits_(limits), geometry_(geometry), rng_(rng), byte_reads_(byte_reads), parser_(limits) {}

  void run(const std::uint8_t* data, std::size_t size);
  Outcomes outcomes() const;
  const std::vector<Written>& written() const { return written_; }
  std::uint32_t dispatched() const { return dispatched_; }

 private:
  struct Exchange {
    enum class State { dispatched, answered };
    std::uint32_t sequence = 0;
    State state = State::dispatched;
    bool close_after = false;
    bool refusal = false;
    bool has_output = false;  // an answer waits in `output` for earlier ones
    bool deferred = false;
    // The request view: where its bytes are, and what they were at dispatch.
    const char* base = nullptr;
    std::size_t span = 0;
    std::string bytes;
  };

  std::size_t next_read_size();
  bool read_one(const std::uint8_t* data, std::size_t size, std::size_t& offset);
  void on_read_eof();
  void on_buffer_full();
  void process_input();
  void parse_available();
  void dispatch_message();
  void reject(int status, bool size_refusal);
  void send_continue_if_expected();
  void answer(std::uint32_t sequence);
  void mark_closing(std::uint32_t sequence);
  void release_answered();
  void flush();
  void take_workspace();
  void release_if_idle();
  bool make_room();
  void compact();
  void after_batch();
  void update_reading();
  std::uint32_t outstanding() const { return next_sequence_ - head_sequence_; }
  Exchange& slot(std::uint32_t sequence) { return exchanges_[sequence % pipeline_depth]; }
  std::size_t capacity() const { return work_ ? capacity_ : 0; }

  const Limits limits_;
  const Geometry geometry_;
  Rng rng_;
  const bool byte_reads_;

  bool work_ = false;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t filled_ = 0, parsed_ = 0;
  Parser parser_;
  Exchange exchanges_[pipeline_depth];
  std::uint32_t head_sequence_ = 0, next_sequence_ = 0, close_sequence_ = 0;
  bool has_close_sequence_ = false;
  bool open_ = true, reading_ = true, in_batch_ = false, stop_parsing_ = false, closing_ = false,
       lingering_ = false, peer_eof_ = false, continue_sent_ = false;
  std::size_t pending_output_ = 0;  // events appended to `out` since the last flush

  // What the harness observed.
  std::vector<Record> messages_;
  int error_ = 0;
  bool size_refusal_ = false;
  std::uint32_t dispatched_ = 0;
  std::vector<std::uint32_t> deferred_;  // sequences the "app" answers later
  std::vector<Written> written_;
};

std::size_t ConnectionModel::next_read_size() {
  if (byte_reads_) return 1;
  switch (rng_.below(4)) {
    case 0:
      return 1 + rng_.below(4);
    case 1:
      return 1 + rng_.below(32);
    case 2:
      return 1 + rng_.below(256);
    default:
      return SIZE_MAX;  // everything the buffer takes
  }
}

void ConnectionModel::run(const std::uint8_t* data, std::size_t size) {
  std::size_t offset = 0;
  for (int guard = 0;; ++guard) {
    CHECK(guard < 1000000);
    if (!open_ || (lingering_ && offset == size)) break;
    bool can_answer = !deferred_.empty();
    if (can_answer && (!reading_ || rng_.below(3) == 0)) {
      std::size_t pick = rng_.below(deferred_.size());
      std::uint32_t sequence = deferred_[pick];
      deferred_.erase(deferred_.begin() + std::ptrdiff_t(pick));
      answer(sequence);
      continue;
    }
    if (reading_) {
      if (offset == size) {
        on_read_eof();
      } else if (!read_one(data, size, offset)) {
        continue;
      }
      continue;
    }
    // Not reading and nobody left to answer: only a finished connection may be here.
    CHECK(lingering_);
    break;
  }
  CHECK(deferred_.empty() || !open_);
}

// One libuv read: on_alloc, then on_read with nread > 0 (or UV_ENOBUFS). False: no bytes.
bool ConnectionModel::read_one(const std::uint8_t* data, std::size_t size, std::size_t& offset) {
  char* into;
  std::size_t room;
  std::unique_ptr<char[]> scratch;
  if (lingering_ || !work_) {
    scratch.reset(new char[geometry_.initial_read_buffer]);
    into = scratch.get();
    room = geometry_.initial_read_buffer;
  } else {
    if (capacity_ - filled_ < geometry_.min_read_space && !make_room()) {
      on_buffer_full();  // on_read(UV_ENOBUFS)
      return false;
    }
    into = buffer_.get() + filled_;
    room = capacity_ - filled_;
  }
  std::size_t n = std::min({next_read_size(), room, size - offset});
  std::memcpy(into, data + offset, n);
  offset += n;
  if (lingering_) return true;
  if (!work_) {
    take_workspace();
    std::memcpy(buffer_.get(), into, n);
  }
  filled_ += n;
  process_input();
  return true;
}

void ConnectionModel::on_read_eof() {
  if (lingering_) {
    open_ = false;
    return;
  }
  peer_eof_ = true;
  stop_parsing_ = true;
  if (outstanding() != 0) {
    mark_closing(next_sequence_ - 1);
  } else {
    closing_ = true;
  }
  update_reading();
  flush();
  // A closing connection with nothing to write and nothing outstanding is done; one that
  // still waits for answers keeps its socket open without reading.
  CHECK(lingering_ || outstanding() != 0);
}

void ConnectionModel::on_buffer_full() {
  reading_ = false;
  if (outstanding() != 0) return;
  in_batch_ = true;
  reject(parser_.phase() == Parser::Phase::body ? 413 : 431, true);
  in_batch_ = false;
  flush();
  if (open_) after_batch();
}

void ConnectionModel::process_input() {
  in_batch_ = true;
  parse_available();
  in_batch_ = false;
  flush();
  if (open_) after_batch();
}

void ConnectionModel::parse_available() {
  while (!stop_parsing_ && parsed_ < filled_ && outstanding() < pipeline_depth) {
    CHECK(error_ == 0);  // nothing is parsed past a refusal
    Parser::Outcome outcome = parser_.execute(buffer_.get(), parsed_, filled_);
    if (outcome == Parser::Outcome::error) {
      bool head_cap = parser_.phase() == Parser::Phase::head && parser_.position() == filled_ &&
                      filled_ - parser_.message().start > head_cap_of(limits_);
      reject(parser_.error_status(), head_cap && parser_.error_status() == 431);
      return;
    }
    if (outcome == Parser::Outcome::need_more) {
      CHECK(parser_.position() == filled_);
      std::size_t end = parser_.drop_framing();
      CHECK(end <= filled_);
      if (parser_.phase() != Parser::Phase::idle) CHECK(end >= parser_.message().start);
      parsed_ = filled_ = end;
      break;
    }
    CHECK(parser_.position() > parsed_ && parser_.position() <= filled_);
    parsed_ = parser_.position();
    dispatch_message();
  }
  send_continue_if_expected();
}

void ConnectionModel::dispatch_message() {
  Record record = inspect(parser_, buffer_.get(), limits_);
  std::uint32_t sequence = next_sequence_++;
  Exchange& exchange = slot(sequence);
  exchange = Exchange{};
  exchange.sequence = sequence;
  exchange.close_after = record.closes();
  if (exchange.close_after) mark_closing(sequence);
  exchange.base = buffer_.get() + parser_.message().start;
  exchange.span = parser_.position() - parser_.message().start;
  exchange.bytes.assign(exchange.base, exchange.span);
  messages_.push_back(std::move(record));
  continue_sent_ = false;
  ++dispatched_;
  // The app: a synchronous handler answers at once, others later (random order).
  if (rng_.below(2) == 0) {
    answer(sequence);
  } else {
    exchange.deferred = true;
    deferred_.push_back(sequence);
  }
}

void ConnectionModel::reject(int status, bool size_refusal) {
  CHECK(error_ == 0);
  error_ = status;
  size_refusal_ = size_refusal;
  std::uint32_t sequence = next_sequence_++;
  Exchange& exchange = slot(sequence);
  exchange = Exchange{};
  exchange.sequence = sequence;
  exchange.close_after = true;
  exchange.refusal = true;
  mark_closing(sequence);
  if (sequence == head_sequence_) {
    written_.push_back({Written::Kind::refusal, sequence});
    ++pending_output_;
  } else {
    exchange.has_output = true;
  }
  exchange.state = Exchange::State::answered;
  release_answered();
}

void ConnectionModel::send_continue_if_expected() {
  if (continue_sent_ || stop_parsing_ || outstanding() != 0) return;
  if (parser_.phase() != Parser::Phase::body || !parser_.message().expect_continue) return;
  written_.push_back({Written::Kind::continue_line, next_sequence_});
  ++pending_output_;
  continue_sent_ = true;
}

void ConnectionModel::answer(std::uint32_t sequence) {
  CHECK(sequence - head_sequence_ < outstanding());
  Exchange& exchange = slot(sequence);
  CHECK(exchange.sequence == sequence && exchange.state == Exchange::State::dispatched);
  // The request view still reads what was dispatched.
  CHECK(std::string_view(exchange.base, exchange.span) == exchange.bytes);
  exchange.state = Exchange::State::answered;
  bool dropped = !open_ || (has_close_sequence_ && exchange.sequence > close_sequence_);
  if (!dropped) {
    // serialize: keep-alive on, not draining, so only close_after closes.
    if (exchange.close_after) mark_closing(exchange.sequence);
    if (exchange.sequence == head_sequence_) {
      written_.push_back({Written::Kind::answer, sequence});
      ++pending_output_;
    } else {
      exchange.has_output = true;
    }
  }
  release_answered();
  if (!open_) return;
  if (in_batch_) return;
  in_batch_ = true;
  parse_available();
  in_batch_ = false;
  flush();
  if (open_) after_batch();
}

void ConnectionModel::mark_closing(std::uint32_t sequence) {
  stop_parsing_ = true;
  if (!has_close_sequence_ || sequence < close_sequence_) close_sequence_ = sequence;
  has_close_sequence_ = true;
}

void ConnectionModel::release_answered() {
  while (outstanding() != 0) {
    Exchange& head = slot(head_sequence_);
    if (head.state != Exchange::State::answered) break;
    bool after_close = has_close_sequence_ && head.sequence > close_sequence_;
    if (open_ && !after_close && head.has_output) {
      written_.push_back(
          {head.refusal ? Written::Kind::refusal : Written::Kind::answer, head.sequence});
      ++pending_output_;
    }
    head.has_output = false;
    if (has_close_sequence_ && head.sequence == close_sequence_) closing_ = true;
    ++head_sequence_;
  }
}

// Writes always succeed at once here (uv_try_write); finish_after_write starts lingering.
void ConnectionModel::flush() {
  if (!open_ || lingering_) return;
  pending_output_ = 0;
  if (closing_ && outstanding() == 0) lingering_ = true;
}

void ConnectionModel::take_workspace() {
  work_ = true;
  if (!buffer_) {
    buffer_.reset(new char[geometry_.initial_read_buffer]);
    capacity_ = geometry_.initial_read_buffer;
  }
}

void ConnectionModel::release_if_idle() {
  if (!work_ || outstanding() != 0 || pending_output_ != 0) return;
  if (!lingering_ && (filled_ != 0 || parser_.phase() != Parser::Phase::idle)) return;
  filled_ = parsed_ = 0;
  work_ = false;
  // Server::give_back keeps a spare buffer only up to the initial size; a fresh allocation
  // lets AddressSanitizer catch any use of the old one.
  buffer_.reset();
  capacity_ = 0;
}

bool ConnectionModel::make_room() {
  if (outstanding() != 0) return false;
  compact();
  if (capacity_ - filled_ >= geometry_.min_read_space) return true;
  if (capacity_ >= geometry_.max_buffer) return capacity_ > filled_;
  std::size_t grown = std::min(capacity_ * 2, geometry_.max_buffer);
  std::unique_ptr<char[]> larger(new char[grown]);
  std::memcpy(larger.get(), buffer_.get(), filled_);
  buffer_ = std::move(larger);
  capacity_ = grown;
  return true;
}

void ConnectionModel::compact() {
  std::size_t keep_from =
      parser_.phase() == Parser::Phase::idle ? parsed_ : parser_.message().start;
  CHECK(keep_from <= filled_);
  if (keep_from == 0) return;
  char* buffer = buffer_.get();
  std::memmove(buffer, buffer + keep_from, filled_ - keep_from);
  filled_ -= keep_from;
  CHECK(parsed_ >= keep_from);
  parsed_ -= keep_from;
  if (parser_.phase() != Parser::Phase::idle) parser_.shift(keep_from);
}

void ConnectionModel::after_batch() {
  if (outstanding() == 0 && !lingering_ && filled_ != 0) compact();
  release_if_idle();
  update_reading();
}

void ConnectionModel::update_reading() {
  bool want = open_ && (lingering_ ||
                        (!stop_parsing_ && !peer_eof_ && outstanding() < pipeline_depth &&
                         (capacity() - filled_ >= geometry_.min_read_space || outstanding() == 0)));
  if (lingering_ && peer_eof_) want = false;
  reading_ = want;
}

Outcomes ConnectionModel::outcomes() const {
  Outcomes outcomes;
  outcomes.messages = messages_;
  outcomes.error = error_;
  outcomes.size_refusal = size_refusal_;
  outcomes.cut = !messages_.empty() && messages_.back().closes();
  return outcomes;
}

// ---- comparing a connection's run with the reference --------------------------------------

void check_against_reference(const Outcomes& got, const Outcomes& want, const Limits& limits,
                             const Geometry& geometry) {
  std::size_t n = got.messages.size();
  std::size_t used = std::strlen(context);
  std::snprintf(context + used, sizeof context - used,
                "; connection: %zu messages, error %d%s; reference: %zu messages, error %d", n,
                got.error, got.size_refusal ? " (size)" : "", want.messages.size(), want.error);
  CHECK(n <= want.messages.size());
  for (std::size_t i = 0; i < n; ++i) CHECK(got.messages[i] == want.messages[i]);
  if (got.error == 0) {
    // Ended by EOF or by a message that closes: the same messages, nothing refused.
    CHECK(n == want.messages.size());
    CHECK(want.error == 0);
    return;
  }
  if (n == want.messages.size() && got.error == want.error) return;
  // A request both malformed and over a limit may be refused for either: llhttp hands a field
  // or target to the limit checks where a read ends, or where the span ends, which a malformed
  // one may never do.
  bool size_status = got.error == 413 || got.error == 414 || got.error == 431;
  if (size_status && n == want.messages.size() && want.error != 0) return;
  // A refusal the reference does not make at this point: only for size, and only for a message
  // that is that large (or that the reference refuses or never completes either).
  CHECK(got.size_refusal);
  if (n == want.messages.size()) return;
  std::size_t length = want.messages[n].length;
  CHECK(length > head_cap_of(limits) || length >= geometry.max_buffer);
}

void check_written(const ConnectionModel& model, const Outcomes& got) {
  std::uint32_t answers = 0;
  bool refused = false;
  std::uint32_t continued = UINT32_MAX;
  for (const Written& written : model.written()) {
    CHECK(!refused);  // a refusal is the last thing written
    switch (written.kind) {
      case Written::Kind::answer:
        CHECK(written.sequence == answers);
        ++answers;
        break;
      case Written::Kind::refusal:
        CHECK(written.sequence == answers);
        refused = true;
        break;
      case Written::Kind::continue_line:
        // For the request being read, once every earlier one is answered; once.
        CHECK(written.sequence == answers);
        CHECK(continued != written.sequence);
        continued = written.sequence;
        break;
    }
  }
  CHECK(answers == model.dispatched());
  CHECK(answers == got.messages.size());
  CHECK(refused == (got.error != 0));
}

Limits make_limits(int line, int fields, int field_size, std::int64_t body) {
  Limits limits;
  limits.request_line = line;
  limits.request_fields = fields;
  limits.request_field_size = field_size;
  limits.max_body_size = body;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Limits profiles[] = {
      Limits{},                    // gunicorn's defaults
      make_limits(40, 4, 32, 64),  // tiny: every limit is within reach
      make_limits(0, 0, 0, 0),     // none
  };
  std::uint64_t hash = fnv1a(data, size);
  for (const Limits& limits : profiles) {
    std::snprintf(context, sizeof context, "limits line %d fields %d field size %d body %lld",
                  limits.request_line, limits.request_fields, limits.request_field_size,
                  static_cast<long long>(limits.max_body_size));
    Outcomes want = reference(data, size, limits);
    Geometry geometry;
    geometry.max_buffer = buffer_limit(limits, geometry);
    std::size_t used = std::strlen(context);
    for (int run = 0; run < 3; ++run) {
      std::snprintf(context + used, sizeof context - used, ", %s",
                    run == 0   ? "one byte per read"
                    : run == 1 ? "random reads 1"
                               : "random reads 2");
      Rng rng{hash + std::uint64_t(run) * 0x632be59bd9b4e019ULL};
      ConnectionModel model(limits, geometry, rng, run == 0);
      model.run(data, size);
      Outcomes got = model.outcomes();
      check_against_reference(got, want, limits, geometry);
      check_written(model, got);
    }
  }
  return 0;
}
