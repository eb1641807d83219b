#include "config/nesting.hpp"

#include <string>

namespace prefork::config {
namespace {

// Walks the text once, skipping what cannot open a level: strings (basic, literal, multi-line)
// and comments. Invalid TOML is left for toml11 to report; this scan only has to be safe.
class NestingScan {
 public:
  NestingScan(std::string_view text, int limit) : text_(text), limit_(limit) {}

  Status run() {
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == '"' || c == '\'') {
        skip_string(c);
      } else if (c == '#') {
        skip_comment();
      } else {
        if (c == '[' || c == '{') {
          if (++depth_ > limit_) return too_deep();
        } else if ((c == ']' || c == '}') && depth_ > 0) {
          --depth_;
        } else if (c == '\n') {
          ++line_;
        }
        ++at_;
      }
    }
    return {};
  }

 private:
  bool starts_with(std::string_view prefix) const { return text_.substr(at_, 3) == prefix; }

  void skip_string(char quote) {
    std::string_view triple = quote == '"' ? "\"\"\"" : "'''";
    bool multi_line = starts_with(triple);
    at_ += multi_line ? 3 : 1;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == '\\' && quote == '"') {
        if (at_ + 1 < text_.size() && text_[at_ + 1] == '\n') ++line_;
        at_ += 2;
        continue;
      }
      if (c == '\n') {
        // A single-line string ends at the line's end (toml11 reports it); the scan goes on.
        if (!multi_line) return;
        ++line_;
      }
      if (multi_line ? starts_with(triple) : c == quote) {
        at_ += multi_line ? 3 : 1;
        return;
      }
      ++at_;
    }
  }

  void skip_comment() {
    while (at_ < text_.size() && text_[at_] != '\n') ++at_;
  }

  Status too_deep() const {
    return Status::error(std::to_string(line_) + ": values nest deeper than " +
                         std::to_string(limit_) + " levels (arrays and inline tables)");
  }

  std::string_view text_;
  int limit_;
  std::size_t at_ = 0;
  unsigned line_ = 1;
  int depth_ = 0;
};

}  // namespace

Status check_nesting(std::string_view text, int limit) {
  return NestingScan(text, limit).run();
}

}  // namespace prefork::config
