#include "http/parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "core/text.hpp"

namespace prefork::http {
namespace {

// Bounds a request head even when every limit is switched off.
constexpr std::size_t unlimited_head_cap = 1 << 20;

Parser& self(llhttp_t* parser) {
  return *static_cast<Parser*>(parser->data);
}

// gunicorn answers 501 for any transfer coding but chunked.
bool only_chunked(std::string_view value) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view coding = trim_white_space(value.substr(0, comma));
    if (!iequals(coding, "chunked")) return false;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

// Line ends, which llhttp 8.1 leaves to us. Its strict mode (subprojects/llhttp:
// LLHTTP_STRICT_MODE) refuses a CR without LF, the CVE-2023-30589 shape, and field names that
// are not tokens, but it still takes a bare LF as a line end, and obs-fold; a proxy in front may
// not, and then sees other lines than we do. Both are checked on bytes llhttp has passed, a few
// per line: after the request line, around each field's value, and at the head's end.

bool is_white_space(char c) {
  return c == ' ' || c == '\t';
}

// Where the line of `field` ends, as an offset from `base`, its request's first byte: after
// the value (llhttp's value spans keep trailing white space), or for an empty value after the
// colon and any white space.
std::size_t line_end(const char* base, const FieldSpan& field) {
  if (field.value_length != 0) return field.value_offset + field.value_length;
  std::size_t at = field.name_offset + field.name_length + 1;
  while (is_white_space(base[at])) ++at;
  return at;
}

// For a head without fields: the version ends the request line.
std::size_t request_line_end(const char* base, const Message& message) {
  std::size_t at = message.target_offset + message.target_length;
  while (base[at] != '\r' && base[at] != '\n') ++at;
  return at;
}

// The empty line that ends a head follows the last line's CRLF. Strict llhttp lets only CR LF,
// or LF, follow a line, so the first byte that differs is one llhttp has passed.
bool is_head_end(const char* at) {
  return at[0] == '\r' && at[1] == '\n' && at[2] == '\r' && at[3] == '\n';
}

// Only white space lies between a value and its field's colon: a value that starts on a line of
// its own ("X:\r\n b") is folded.
bool follows_colon(const char* at) {
  do --at;
  while (is_white_space(*at));
  return *at == ':';
}

// A field line as RFC 9112 §5 has it: the value starts after the colon and white space, and the
// line ends in CRLF with no continuation line after it (obs-fold, which strict llhttp still
// takes, and whose pieces it hands over as one value). llhttp looks at the byte after the CRLF
// before it calls on_header_value_complete: all of these bytes are in the buffer.
bool is_whole_line(const char* base, const FieldSpan& field) {
  const char* end;
  if (field.value_length != 0) {
    const char* value = base + field.value_offset;
    bool after_colon = value[-1] == ':' || (value[-1] == ' ' && value[-2] == ':');
    if (!after_colon && !follows_colon(value)) return false;
    end = value + field.value_length;
  } else {
    end = base + line_end(base, field);
  }
  return end[0] == '\r' && end[1] == '\n' && end[2] != ' ' && end[2] != '\t';
}

// Case-insensitively "host", in one compare: OR-ing 0x20 folds only 'H' onto 'h', and so on.
bool is_host(std::string_view name) {
  if (name.size() != 4) return false;
  std::uint32_t word, host;
  std::memcpy(&word, name.data(), 4);
  std::memcpy(&host, "host", 4);
  return (word | 0x20202020u) == host;
}

// The length of each method's name, by llhttp's number: on_url checks the request line's length
// with it for every request.
constexpr std::array<std::uint8_t, 256> method_lengths = [] {
  std::array<std::uint8_t, 256> lengths{};
#define PREFORK_METHOD_LENGTH(number, name, text) lengths[number] = sizeof(#text) - 1;
  HTTP_ALL_METHOD_MAP(PREFORK_METHOD_LENGTH)
#undef PREFORK_METHOD_LENGTH
  return lengths;
}();

std::size_t head_cap_for(const config::Limits& limits) {
  if (limits.request_line <= 0 || limits.request_fields <= 0 || limits.request_field_size <= 0) {
    return unlimited_head_cap;
  }
  // The line, each field with ": " and CRLF, and the final CRLF.
  return std::size_t(limits.request_line) + 2 +
         std::size_t(limits.request_fields) * (std::size_t(limits.request_field_size) + 4) + 2;
}

}  // namespace

void Message::clear() {
  start = 0;
  length = 0;
  method = {};
  target_offset = target_length = 0;
  fields.clear();
  body_offset = 0;
  body_length = 0;
  http_major = http_minor = 1;
  keep_alive = true;
  head = expect_continue = upgrade = false;
}

const llhttp_settings_t& Parser::settings() {
  static const llhttp_settings_t table = [] {
    llhttp_settings_t callbacks;
    llhttp_settings_init(&callbacks);
    callbacks.on_message_begin = on_message_begin;
    callbacks.on_url = on_url;
    callbacks.on_header_field = on_header_field;
    callbacks.on_header_field_complete = on_header_field_complete;
    callbacks.on_header_value = on_header_value;
    callbacks.on_header_value_complete = on_header_value_complete;
    callbacks.on_headers_complete = on_headers_complete;
    callbacks.on_body = on_body;
    callbacks.on_chunk_header = on_chunk_header;
    callbacks.on_message_complete = on_message_complete;
    return callbacks;
  }();
  return table;
}

Parser::Parser(const config::Limits& limits) : limits_(limits), head_cap_(head_cap_for(limits)) {
  reset();
}

void Parser::reset() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
  message_.clear();
  position_ = 0;
  dropped_ = 0;
  phase_ = Phase::idle;
  in_field_name_ = false;
  trailers_ = TrailerScan{};
  error_status_ = 0;
}

Parser::Outcome Parser::execute(char* buffer, std::size_t begin, std::size_t end) {
  buffer_ = buffer;
  if (phase_ == Phase::idle) {
    // Empty lines before a request (RFC 9112 §2.2 lets a server skip them) are not part of it:
    // the head's cap counts the request's own bytes, however the lines came in.
    while (begin != end && (buffer[begin] == '\r' || buffer[begin] == '\n')) ++begin;
    message_.start = begin;
  }
  std::size_t stop = trailers_.scanning ? trailer_fault(begin, end) : end;
  llhttp_errno_t error = llhttp_execute(&parser_, buffer + begin, stop - begin);
  if (error == HPE_PAUSED && trailers_.at_start) {
    // on_chunk_header paused at the last chunk: from here on, the bytes are the trailer section.
    trailers_.at_start = false;
    trailers_.scanning = true;
    begin = std::size_t(llhttp_get_error_pos(&parser_) - buffer);
    llhttp_resume(&parser_);
    stop = trailer_fault(begin, end);
    error = llhttp_execute(&parser_, buffer + begin, stop - begin);
  }
  if (error == HPE_OK) {
    // llhttp found nothing wrong before the trailer section's fault: the fault is the first.
    if (stop != end) return refuse(400);
    position_ = end;
    if (phase_ == Phase::head && end - message_.start > head_cap_) return refuse(431);
    return Outcome::need_more;
  }
  if (error == HPE_PAUSED) {
    position_ = std::size_t(llhttp_get_error_pos(&parser_) - buffer);
    trailers_ = TrailerScan{};
    message_.length = position_ - message_.start + dropped_;
    llhttp_resume(&parser_);
    return Outcome::message;
  }
  if (error_status_ == 0) error_status_ = map_error(error);
  return Outcome::error;
}

Parser::Outcome Parser::refuse(int status) {
  fail(status);
  return Outcome::error;
}

// The trailer section's lines (RFC 9112 §7.1.2) end in CRLF and fold nothing, as the head's do;
// strict llhttp still takes a bare LF there, the end of the section among them, where a proxy
// may not. Its bytes are framing, which drop_framing may let the next read overwrite: they are
// checked before llhttp takes them, a byte at a time, which only chunked requests pay (most for
// the two bytes of the empty line). Returns where the first fault is, or end; llhttp is then
// given the bytes before it, so that whichever fault comes first in the stream decides.
std::size_t Parser::trailer_fault(std::size_t begin, std::size_t end) {
  for (std::size_t at = begin; at != end && trailers_.scanning; ++at) {
    if (!trailers_.accept(buffer_[at])) return at;
  }
  return end;
}

bool Parser::TrailerScan::accept(char byte) {
  if (after_cr) {
    after_cr = false;
    if (line_length == 0) scanning = false;  // the empty line: the request ends here
    line_length = 0;
    return byte == '\n';
  }
  if (byte == '\r') {
    after_cr = true;
    return true;
  }
  if (byte == '\n') return false;                                         // a bare LF
  if (line_length++ == 0 && (byte == ' ' || byte == '\t')) return false;  // obs-fold
  return true;
}

std::size_t Parser::drop_framing() {
  // Before the first body byte the head is all there is, and it must stay.
  if (phase_ != Phase::body || message_.body_length == 0) return position_;
  std::size_t body_end = message_.start + message_.body_offset + message_.body_length;
  dropped_ += position_ - body_end;
  position_ = body_end;
  return body_end;
}

int Parser::map_error(llhttp_errno_t error) const {
  switch (error) {
    case HPE_INVALID_VERSION:
      return 505;
    case HPE_INVALID_TRANSFER_ENCODING:
      return 501;
    default:
      return 400;
  }
}

int Parser::fail(int status) {
  if (error_status_ == 0) error_status_ = status;
  return HPE_USER;
}

int Parser::on_message_begin(llhttp_t* parser) {
  Parser& p = self(parser);
  std::size_t start = p.message_.start;
  p.message_.clear();
  p.message_.start = start;
  p.dropped_ = 0;
  p.phase_ = Phase::head;
  p.in_field_name_ = false;
  p.host_fields_ = 0;
  p.trailer_fields_ = 0;
  return 0;
}

int Parser::on_url(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  Message& message = p.message_;
  if (message.target_length == 0) message.target_offset = p.offset_of(at);
  message.target_length += std::uint32_t(length);
  if (p.limits_.request_line > 0) {
    // method SP target SP HTTP/x.y
    std::size_t method_length = method_lengths[parser->method];
    if (method_length + 1 + message.target_length + 9 > std::size_t(p.limits_.request_line)) {
      return p.fail(414);
    }
  }
  return 0;
}

int Parser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) return p.count_trailer(true, length);
  std::vector<FieldSpan>& fields = p.message_.fields;
  if (!p.in_field_name_) {
    if (p.limits_.request_fields > 0 && fields.size() >= std::size_t(p.limits_.request_fields)) {
      return p.fail(431);
    }
    // The request line ends in CRLF: strict llhttp refuses a bare CR, a bare LF is ours. Each
    // field line's end is checked when its value is complete.
    std::uint32_t offset = p.offset_of(at);
    if (fields.empty() && (at[-1] != '\n' || at[-2] != '\r')) return p.fail(400);
    fields.push_back(FieldSpan{offset, 0, 0, 0});
    p.in_field_name_ = true;
  }
  fields.back().name_length += std::uint32_t(length);
  return 0;
}

// The trailer fields after a chunked body are held to the limits of header fields, but not kept:
// a request's fields are its head's (RFC 9110 §6.5.1 forbids merging trailers into them), and a
// trailer's bytes may already be gone when it ends, dropped with the chunk framing by
// drop_framing. Strict llhttp checks their names as it does the head's; scan_trailers their
// line ends.
int Parser::count_trailer(bool name, std::size_t length) {
  if (name && !in_field_name_) {
    if (limits_.request_fields > 0 && trailer_fields_ >= limits_.request_fields) return fail(431);
    ++trailer_fields_;
    trailer_ = FieldSpan{};
    in_field_name_ = true;
  }
  (name ? trailer_.name_length : trailer_.value_length) += std::uint32_t(length);
  return check_field_size(trailer_);
}

int Parser::on_header_field_complete(llhttp_t* parser) {
  self(parser).in_field_name_ = false;
  return 0;
}

int Parser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) return p.count_trailer(false, length);
  FieldSpan& field = p.message_.fields.back();
  if (field.value_length == 0) field.value_offset = p.offset_of(at);
  field.value_length += std::uint32_t(length);
  return 0;
}

// Once per field, not per piece: until then the head's cap bounds what a field can take.
// llhttp 8.1 lets an empty name through, even in strict mode (": x").
int Parser::on_header_value_complete(llhttp_t* parser) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) return p.trailer_.name_length == 0 ? p.fail(400) : 0;
  const FieldSpan& field = p.message_.fields.back();
  if (field.name_length == 0 || !is_whole_line(p.buffer_ + p.message_.start, field)) {
    return p.fail(400);
  }
  if (int status = p.check_field_size(field)) return status;
  return p.inspect_field(field);
}

int Parser::check_field_size(const FieldSpan& field) {
  if (limits_.request_field_size > 0 &&
      field.name_length + field.value_length > std::uint32_t(limits_.request_field_size)) {
    return fail(431);
  }
  return 0;
}

int Parser::inspect_field(const FieldSpan& field) {
  const char* base = buffer_ + message_.start;
  std::string_view name(base + field.name_offset, field.name_length);
  std::string_view value(base + field.value_offset, field.value_length);
  if (name.size() == 17 && iequals(name, "transfer-encoding")) {
    // llhttp 8.1 ignores an empty one, and would frame by a Content-Length beside it.
    if (trim_white_space(value).empty()) return fail(400);
    if (!only_chunked(value)) return fail(501);
  } else if (is_host(name)) {
    ++host_fields_;
  } else if (name.size() == 6 && iequals(name, "expect")) {
    message_.expect_continue = iequals(trim_white_space(value), "100-continue");
  }
  return 0;
}

int Parser::on_headers_complete(llhttp_t* parser) {
  Parser& p = self(parser);
  Message& message = p.message_;
  if (parser->http_major != 1) {
    p.fail(505);
    return -1;
  }
  message.method = std::string_view(llhttp_method_name(llhttp_method_t(parser->method)),
                                    method_lengths[parser->method]);
  message.http_major = parser->http_major;
  message.http_minor = parser->http_minor;
  message.keep_alive = llhttp_should_keep_alive(parser) != 0;
  message.head = parser->method == HTTP_HEAD;
  message.upgrade = parser->upgrade != 0;
  bool chunked = (parser->flags & F_CHUNKED) != 0;
  bool has_length = (parser->flags & F_CONTENT_LENGTH) != 0;
  const char* base = p.buffer_ + message.start;
  std::size_t last_line_end = message.fields.empty() ? request_line_end(base, message)
                                                     : line_end(base, message.fields.back());
  if (!is_head_end(base + last_line_end) || !p.framing_is_valid(chunked)) {
    p.fail(400);
    return -1;
  }
  if (has_length && p.limits_.max_body_size > 0 &&
      parser->content_length > std::uint64_t(p.limits_.max_body_size)) {
    p.fail(413);
    return -1;
  }
  bool body_follows = chunked || (has_length && parser->content_length > 0);
  message.expect_continue = message.expect_continue && body_follows && message.http_minor >= 1;
  p.phase_ = Phase::body;
  return 0;
}

// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host (two can each name another server to
// a proxy and to us), HTTP/1.0 at most one; §6.1: chunked is HTTP/1.1 framing, which an HTTP/1.0
// peer in front would not have framed the same way.
bool Parser::framing_is_valid(bool chunked) const {
  bool http10 = message_.http_minor == 0;
  return (host_fields_ == 1 || (host_fields_ == 0 && http10)) && !(chunked && http10);
}

// Pauses at the last chunk, so that execute knows where the trailer section starts.
int Parser::on_chunk_header(llhttp_t* parser) {
  if (parser->content_length != 0) return 0;
  self(parser).trailers_.at_start = true;
  return HPE_PAUSED;
}

int Parser::on_body(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  Message& message = p.message_;
  if (message.body_length == 0) message.body_offset = p.offset_of(at);
  if (p.limits_.max_body_size > 0 &&
      message.body_length + length > std::size_t(p.limits_.max_body_size)) {
    return p.fail(413);
  }
  // Chunk framing lies between pieces of a chunked body: slide each piece down over it. The
  // parser never looks back at bytes it has passed, so this is safe.
  char* end_of_body = p.buffer_ + message.start + message.body_offset + message.body_length;
  if (end_of_body != at) std::memmove(end_of_body, at, length);
  message.body_length += length;
  return 0;
}

int Parser::on_message_complete(llhttp_t* parser) {
  // Stopping here lets the caller dispatch each request outside llhttp's callbacks.
  self(parser).phase_ = Phase::idle;
  return HPE_PAUSED;
}

}  // namespace prefork::http
