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

// tchar of RFC 9110 §5.6.2, by byte: a table, since every field name of every request is
// checked.
constexpr std::array<bool, 256> token_chars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool is_token_char(char c) {
  return token_chars[static_cast<unsigned char>(c)];
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// gunicorn answers 501 for any transfer coding but chunked.
bool only_chunked(std::string_view value) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view coding = trim(value.substr(0, comma));
    if (!iequals(coding, "chunked")) return false;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

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
  method = "";
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
  head_scanner_.reset();
  head_scanned_ = false;
  in_field_name_ = false;
  error_status_ = 0;
}

Parser::Outcome Parser::execute(char* buffer, std::size_t begin, std::size_t end) {
  buffer_ = buffer;
  // The head scanner is not reset here but where a request ends: while idle, llhttp may have
  // taken the CR of an empty line before a request and the LF may come with the next bytes.
  if (phase_ == Phase::idle) message_.start = begin;
  std::size_t refused_at = end;
  if (!scan_head(begin, end, refused_at)) {
    // The first fault in the stream decides the answer, however the stream was split: llhttp
    // judges the bytes before the refused one (a bad version before a bare CR is 505).
    llhttp_errno_t error = llhttp_execute(&parser_, buffer + begin, refused_at - begin);
    if (error != HPE_OK && error != HPE_PAUSED && error_status_ == 0) {
      error_status_ = map_error(error);
    }
    fail(400);
    return Outcome::error;
  }
  llhttp_errno_t error = llhttp_execute(&parser_, buffer + begin, end - begin);
  if (error == HPE_OK) {
    position_ = end;
    if (phase_ == Phase::head && end - message_.start > head_cap_) {
      fail(431);
      return Outcome::error;
    }
    return Outcome::need_more;
  }
  if (error == HPE_PAUSED) {
    position_ = std::size_t(llhttp_get_error_pos(&parser_) - buffer);
    message_.length = position_ - message_.start + dropped_;
    llhttp_resume(&parser_);
    head_scanner_.reset();
    head_scanned_ = false;
    return Outcome::message;
  }
  if (error_status_ == 0) error_status_ = map_error(error);
  return Outcome::error;
}

// Before llhttp sees the bytes of a head, so that it never acts on a head it would misread.
// False: refused, and refused_at is the offset of the byte that was refused.
bool Parser::scan_head(std::size_t begin, std::size_t end, std::size_t& refused_at) {
  if (head_scanned_) return true;
  HeadScanner before = head_scanner_;
  HeadScanner::Result result = head_scanner_.scan(buffer_ + begin, end - begin);
  head_scanned_ = result == HeadScanner::Result::done;
  if (result != HeadScanner::Result::refused) return true;
  // Found again a byte at a time, which only a refused head costs.
  for (refused_at = begin; refused_at + 1 < end; ++refused_at) {
    if (before.scan(buffer_ + refused_at, 1) == HeadScanner::Result::refused) break;
  }
  return false;
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
    std::size_t method_length = std::strlen(llhttp_method_name(llhttp_method_t(parser->method)));
    if (method_length + 1 + message.target_length + 9 > std::size_t(p.limits_.request_line)) {
      return p.fail(414);
    }
  }
  return 0;
}

int Parser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) return p.on_trailer_name(at, length);
  std::vector<FieldSpan>& fields = p.message_.fields;
  if (!p.in_field_name_) {
    if (p.limits_.request_fields > 0 && fields.size() >= std::size_t(p.limits_.request_fields)) {
      return p.fail(431);
    }
    fields.push_back(FieldSpan{p.offset_of(at), 0, 0, 0});
    p.in_field_name_ = true;
  }
  fields.back().name_length += std::uint32_t(length);
  return p.check_field_size(fields.back());
}

// A field name is a token (RFC 9110 §5.1): llhttp 8.1 lets "Host : a" and "Bad Name: x"
// through, with the space in the name.
int Parser::on_header_field_complete(llhttp_t* parser) {
  Parser& p = self(parser);
  p.in_field_name_ = false;
  // llhttp 8.1 also lets an empty name through (": x").
  if (p.phase_ == Phase::body) {
    return p.trailer_.name_length == 0 ? p.fail(400) : 0;  // checked as it came
  }
  const FieldSpan& field = p.message_.fields.back();
  if (field.name_length == 0) return p.fail(400);
  const char* name = p.buffer_ + p.message_.start + field.name_offset;
  for (std::uint32_t i = 0; i < field.name_length; ++i) {
    if (!is_token_char(name[i])) return p.fail(400);
  }
  return 0;
}

int Parser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) {
    p.trailer_.value_length += std::uint32_t(length);
    return p.check_field_size(p.trailer_);
  }
  FieldSpan& field = p.message_.fields.back();
  if (field.value_length == 0) field.value_offset = p.offset_of(at);
  field.value_length += std::uint32_t(length);
  return p.check_field_size(field);
}

int Parser::on_header_value_complete(llhttp_t* parser) {
  Parser& p = self(parser);
  if (p.phase_ == Phase::body) return 0;
  return p.inspect_field(p.message_.fields.back());
}

// The trailer fields after a chunked body are held to the limits and to token names like header
// fields, but not kept: a request's fields are its head's (RFC 9110 §6.5.1 forbids merging
// trailers into them), and a trailer's bytes may already be gone when it ends, dropped with the
// chunk framing by drop_framing. So names are checked piece by piece, as they come.
int Parser::on_trailer_name(const char* at, std::size_t length) {
  if (!in_field_name_) {
    if (limits_.request_fields > 0 && trailer_fields_ >= limits_.request_fields) return fail(431);
    ++trailer_fields_;
    trailer_ = FieldSpan{};
    in_field_name_ = true;
  }
  for (std::size_t i = 0; i < length; ++i) {
    if (!is_token_char(at[i])) return fail(400);
  }
  trailer_.name_length += std::uint32_t(length);
  return check_field_size(trailer_);
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
    if (trim(value).empty()) return fail(400);
    if (!only_chunked(value)) return fail(501);
  } else if (name.size() == 4 && iequals(name, "host")) {
    ++host_fields_;
  } else if (name.size() == 6 && iequals(name, "expect")) {
    message_.expect_continue = iequals(trim(value), "100-continue");
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
  message.method = llhttp_method_name(llhttp_method_t(parser->method));
  message.http_major = parser->http_major;
  message.http_minor = parser->http_minor;
  message.keep_alive = llhttp_should_keep_alive(parser) != 0;
  message.head = parser->method == HTTP_HEAD;
  message.upgrade = parser->upgrade != 0;
  bool chunked = (parser->flags & F_CHUNKED) != 0;
  bool has_length = (parser->flags & F_CONTENT_LENGTH) != 0;
  if (!p.framing_is_valid(chunked)) {
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

// RFC 9112 §3.2: a request has at most one Host (two can each name another server to a proxy
// and to us); §6.1: chunked is HTTP/1.1 framing, which an HTTP/1.0 peer in front would not have
// framed the same way.
bool Parser::framing_is_valid(bool chunked) const {
  return host_fields_ <= 1 && !(chunked && message_.http_minor == 0);
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
