// llhttp glue: parses requests in place in a connection's buffer and enforces gunicorn's limits.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace prefork::http {

// A header field as offsets from the first byte of its request.
struct FieldSpan {
  std::uint32_t name_offset = 0, name_length = 0;
  std::uint32_t value_offset = 0, value_length = 0;
};

// One request, as offsets into the buffer it was parsed in. Offsets are relative to `start`, so
// moving the unparsed tail of a buffer only changes `start` (see Parser::shift).
struct Message {
  std::size_t start = 0;    // offset of the request's first byte in the buffer
  std::size_t length = 0;   // bytes on the wire, head and framed body; set when complete
  std::string_view method;  // static text from llhttp
  std::uint32_t target_offset = 0, target_length = 0;
  std::vector<FieldSpan> fields;
  // Chunked bodies are decoded in place, so the body is always one contiguous run.
  std::uint32_t body_offset = 0;
  std::size_t body_length = 0;
  int http_major = 1, http_minor = 1;
  bool keep_alive = true;
  bool head = false;             // a HEAD request: answered without a body
  bool expect_continue = false;  // "Expect: 100-continue" with a body to come
  bool upgrade = false;          // CONNECT or Upgrade: answered, then the connection closes

  void clear();
};

class Parser {
 public:
  enum class Phase { idle, head, body };
  enum class Outcome { need_more, message, error };

  explicit Parser(const config::Limits& limits);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses buffer[begin, end) and stops after each complete request. `message`: message() holds
  // it and position() is where its bytes end. `error`: answer error_status() and close.
  Outcome execute(char* buffer, std::size_t begin, std::size_t end);

  std::size_t position() const { return position_; }
  Message& message() { return message_; }
  Phase phase() const { return phase_; }
  int error_status() const { return error_status_; }
  // The caller moved the current request's bytes `delta` bytes towards the buffer start.
  void shift(std::size_t delta) { message_.start -= delta; }
  // After need_more in a chunked body: forgets the chunk framing parsed past the decoded body
  // and returns where the decoded body ends, which is where the caller's next bytes belong.
  // Framing then costs no buffer space, however many chunks a body has.
  std::size_t drop_framing();
  // Forgets everything, for a new connection.
  void reset();

 private:
  static int on_message_begin(llhttp_t* parser);
  static int on_url(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field_complete(llhttp_t* parser);
  static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_value_complete(llhttp_t* parser);
  static int on_headers_complete(llhttp_t* parser);
  static int on_chunk_header(llhttp_t* parser);
  static int on_body(llhttp_t* parser, const char* at, std::size_t length);
  static int on_message_complete(llhttp_t* parser);
  static const llhttp_settings_t& settings();

  std::uint32_t offset_of(const char* at) const {
    return std::uint32_t(at - (buffer_ + message_.start));
  }
  int fail(int status);
  Outcome refuse(int status);
  std::size_t trailer_fault(std::size_t begin, std::size_t end);
  int check_field_size(const FieldSpan& field);
  int count_trailer(bool name, std::size_t length);
  int inspect_field(const FieldSpan& field);
  bool framing_is_valid(bool chunked) const;
  int map_error(llhttp_errno_t error) const;

  llhttp_t parser_;
  const config::Limits limits_;
  std::size_t head_cap_;
  Message message_;
  char* buffer_ = nullptr;
  std::size_t position_ = 0;
  std::size_t dropped_ = 0;  // framing bytes of the current message forgotten by drop_framing
  Phase phase_ = Phase::idle;
  bool in_field_name_ = false;
  int host_fields_ = 0;  // in the current request's head
  // The trailer section of the current request, from the last chunk on.
  struct TrailerScan {
    bool at_start = false;  // on_chunk_header paused at the last chunk
    bool scanning = false;  // until the empty line that ends the section
    bool after_cr = false;
    std::size_t line_length = 0;

    bool accept(char byte);
  };
  TrailerScan trailers_;
  int trailer_fields_ = 0;
  FieldSpan trailer_;  // the current trailer field's lengths (its offsets are not kept)
  int error_status_ = 0;
};

}  // namespace prefork::http
