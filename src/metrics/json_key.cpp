#include "metrics/json_key.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace prefork::metrics {
namespace {

constexpr char32_t replacement_character = 0xFFFD;
constexpr char32_t invalid = 0xFFFFFFFF;

// Decodes one UTF-8 sequence at text[position], advancing position; returns `invalid` (and
// advances one byte) for malformed, overlong, surrogate or out-of-range sequences.
char32_t decode_utf8(std::string_view text, std::size_t& position) {
  const auto lead = static_cast<unsigned char>(text[position]);
  if (lead < 0x80) {
    ++position;
    return lead;
  }
  std::size_t length;
  char32_t code;
  char32_t smallest;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code = lead & 0x1F, smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code = lead & 0x0F, smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code = lead & 0x07, smallest = 0x10000;
  } else {
    ++position;
    return invalid;
  }
  if (position + length > text.size()) {
    ++position;
    return invalid;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[position + i]);
    if ((next & 0xC0) != 0x80) {
      ++position;
      return invalid;
    }
    code = (code << 6) | (next & 0x3F);
  }
  if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    ++position;
    return invalid;
  }
  position += length;
  return code;
}

void append_utf8(std::string& out, char32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

void append_unicode_escape(std::string& out, unsigned unit) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", unit);
  out += buffer;
}

// Python's json encoder with ensure_ascii: everything outside ' '..'~' is escaped.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t position = 0;
  while (position < text.size()) {
    char32_t code = decode_utf8(text, position);
    if (code == invalid) code = replacement_character;
    switch (code) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (code >= 0x20 && code <= 0x7E) {
      out += static_cast<char>(code);
    } else if (code < 0x10000) {
      append_unicode_escape(out, code);
    } else {
      const char32_t offset = code - 0x10000;
      append_unicode_escape(out, 0xD800 | (offset >> 10));
      append_unicode_escape(out, 0xDC00 | (offset & 0x3FF));
    }
  }
  out += '"';
}

class KeyReader {
 public:
  explicit KeyReader(std::string_view text) : text_(text) {}
  const std::string& error() const { return error_; }

  bool read(KeyParts& parts) {
    parts.labels.clear();
    if (!expect('[') || !read_string(parts.metric_name) || !expect(',') ||
        !read_string(parts.sample_name) || !expect(',') || !read_labels(parts.labels) ||
        !expect(',') || !read_string(parts.help) || !expect(']')) {
      return false;
    }
    skip_space();
    if (position_ != text_.size()) return fail("trailing characters");
    std::sort(parts.labels.begin(), parts.labels.end());
    return true;
  }

 private:
  bool fail(const char* what) {
    error_ = std::string(what) + " at offset " + std::to_string(position_) + " of JSON key";
    return false;
  }

  void skip_space() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                        text_[position_] == '\n' || text_[position_] == '\r')) {
      ++position_;
    }
  }

  bool peek(char wanted) {
    skip_space();
    return position_ < text_.size() && text_[position_] == wanted;
  }

  bool expect(char wanted) {
    if (!peek(wanted)) {
      char what[32];
      std::snprintf(what, sizeof what, "expected '%c'", wanted);
      return fail(what);
    }
    ++position_;
    return true;
  }

  bool read_hex4(unsigned& unit) {
    if (position_ + 4 > text_.size()) return fail("short \\u escape");
    unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[position_++];
      unit <<= 4;
      if (c >= '0' && c <= '9') {
        unit |= unsigned(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        unit |= unsigned(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        unit |= unsigned(c - 'A' + 10);
      } else {
        return fail("bad hex digit in \\u escape");
      }
    }
    return true;
  }

  bool read_unicode_escape(std::string& out) {
    unsigned unit = 0;
    if (!read_hex4(unit)) return false;
    char32_t code = unit;
    const bool high = unit >= 0xD800 && unit <= 0xDBFF;
    if (high && text_.substr(position_, 2) == "\\u") {
      const std::size_t saved = position_;
      position_ += 2;
      unsigned low = 0;
      if (!read_hex4(low)) return false;
      if (low >= 0xDC00 && low <= 0xDFFF) {
        code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      } else {
        position_ = saved;
      }
    }
    // A lone surrogate has no UTF-8 form.
    if (code >= 0xD800 && code <= 0xDFFF) code = replacement_character;
    append_utf8(out, code);
    return true;
  }

  bool read_string(std::string& out) {
    if (!expect('"')) return false;
    out.clear();
    while (position_ < text_.size()) {
      const char c = text_[position_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (position_ >= text_.size()) break;
      const char escaped = text_[position_++];
      switch (escaped) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          if (!read_unicode_escape(out)) return false;
          break;
        default:
          return fail("unknown escape");
      }
    }
    return fail("unterminated string");
  }

  bool read_labels(Labels& labels) {
    if (!expect('{')) return false;
    if (peek('}')) {
      ++position_;
      return true;
    }
    while (true) {
      std::string name;
      std::string value;
      if (!read_string(name) || !expect(':') || !read_string(value)) return false;
      labels.emplace_back(std::move(name), std::move(value));
      if (peek('}')) {
        ++position_;
        return true;
      }
      if (!expect(',')) return false;
    }
  }

  std::string_view text_;
  std::string error_;
  std::size_t position_ = 0;
};

}  // namespace

std::string json_key(std::string_view metric_name, std::string_view sample_name,
                     const Labels& labels, std::string_view help) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(labels.size());
  for (const auto& label : labels) sorted.push_back(&label);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* left, const auto* right) { return left->first < right->first; });

  std::string key;
  key.reserve(metric_name.size() + sample_name.size() + help.size() + 16 + labels.size() * 16);
  key += '[';
  append_json_string(key, metric_name);
  key += ", ";
  append_json_string(key, sample_name);
  key += ", {";
  bool first = true;
  for (const auto* label : sorted) {
    if (!first) key += ", ";
    first = false;
    append_json_string(key, label->first);
    key += ": ";
    append_json_string(key, label->second);
  }
  key += "}, ";
  append_json_string(key, help);
  key += ']';
  return key;
}

Status parse_json_key(std::string_view key, KeyParts& parts) {
  KeyReader reader(key);
  if (reader.read(parts)) return {};
  return Status::error(reader.error());
}

bool valid_utf8(std::string_view text) {
  std::size_t position = 0;
  while (position < text.size()) {
    if (decode_utf8(text, position) == invalid) return false;
  }
  return true;
}

}  // namespace prefork::metrics
