#include "core/json_text.hpp"

#include <cstdint>

namespace prefork {
namespace {

unsigned char byte_at(std::string_view text, std::size_t i) {
  return i < text.size() ? static_cast<unsigned char>(text[i]) : 0;
}

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629, table 3-7 of
// Unicode), 0 when there is none there.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  unsigned char lead = byte_at(text, i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    unsigned char next = byte_at(text, i + k);
    if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xbf)) return 0;
  }
  return length;
}

// U+0085 (NEL), U+2028 and U+2029: valid JSON raw, but line ends to Python's splitlines and
// to JavaScript.
bool is_line_separator(std::string_view text, std::size_t i, std::size_t length) {
  if (length == 2) return byte_at(text, i) == 0xc2 && byte_at(text, i + 1) == 0x85;
  return length == 3 && byte_at(text, i) == 0xe2 && byte_at(text, i + 1) == 0x80 &&
         (byte_at(text, i + 2) == 0xa8 || byte_at(text, i + 2) == 0xa9);
}

void append_unicode_escape(std::string& out, std::uint32_t code) {
  static constexpr char hex[] = "0123456789abcdef";
  const char escape[6] = {
      '\\',           'u', hex[(code >> 12) & 0xf], hex[(code >> 8) & 0xf], hex[(code >> 4) & 0xf],
      hex[code & 0xf]};
  out.append(escape, sizeof escape);
}

// The escape of an ASCII byte, "" when it stands for itself.
std::string_view ascii_escape(unsigned char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return {};
  }
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view value) {
  std::size_t run = 0;  // the start of the bytes that pass unchanged
  std::size_t i = 0;
  while (i < value.size()) {
    unsigned char c = byte_at(value, i);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    std::size_t length = sequence_length(value, i);
    if (c >= 0x80 && length != 0 && !is_line_separator(value, i, length)) {
      i += length;
      continue;
    }
    out.append(value.data() + run, i - run);
    if (c < 0x80) {
      std::string_view escape = ascii_escape(c);
      if (escape.empty()) {
        append_unicode_escape(out, c);
      } else {
        out.append(escape);
      }
      i += 1;
    } else if (length == 0) {
      append_unicode_escape(out, 0xfffd);
      i += 1;
    } else {
      std::uint32_t code = length == 2 ? 0x85 : 0x2028 + (byte_at(value, i + 2) - 0xa8);
      append_unicode_escape(out, code);
      i += length;
    }
    run = i;
  }
  out.append(value.data() + run, value.size() - run);
}

void append_json_string(std::string& out, std::string_view value) {
  out.push_back('"');
  append_json_escaped(out, value);
  out.push_back('"');
}

}  // namespace prefork
