// JSON strings for log lines: whatever the input, one string on one line, valid UTF-8.
#include <iconv.h>

#include <doctest/doctest.h>

#include <string>

#include "core/json_text.hpp"

using namespace prefork;
using namespace std::string_literals;

namespace {

std::string escaped(std::string_view value) {
  std::string out;
  append_json_escaped(out, value);
  return out;
}

// glibc's own UTF-8 decoder, a second opinion on what is well-formed.
bool is_valid_utf8(const std::string& text) {
  iconv_t decoder = iconv_open("UTF-32LE", "UTF-8");
  REQUIRE(decoder != iconv_t(-1));
  std::string input = text;
  std::string output(4 * text.size() + 4, '\0');
  char* in = input.data();
  char* out = output.data();
  std::size_t in_left = input.size(), out_left = output.size();
  bool valid = iconv(decoder, &in, &in_left, &out, &out_left) != std::size_t(-1) && in_left == 0;
  iconv_close(decoder);
  return valid;
}

// What a line reader must never see inside a string: a raw control byte (a newline among them),
// an unescaped quote, or a backslash that does not start an escape.
bool stays_one_string(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"') return false;
    if (c == '\\') {
      if (i + 1 == text.size() ||
          std::string_view("\"\\/bfnrtu").find(text[i + 1]) == std::string_view::npos)
        return false;
      ++i;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("quotes and backslashes are escaped, plain text is not") {
  CHECK(escaped("plain text /path?q=1&x=ü") == "plain text /path?q=1&x=ü");
  CHECK(escaped(R"(say "hi" \o/)") == R"(say \"hi\" \\o/)");
  CHECK(escaped("") == "");
  std::string quoted;
  append_json_string(quoted, "a\"b");
  CHECK(quoted == R"("a\"b")");
}

TEST_CASE("control characters and DEL: short escapes where JSON has them, else \\u00XX") {
  CHECK(escaped("a\nb\rc\td\be\ff") == R"(a\nb\rc\td\be\ff)");
  CHECK(escaped("nul\0end"s) == R"(nul\u0000end)");
  CHECK(escaped("\x01\x1f\x7f") == R"(\u0001\u001f\u007f)");
  CHECK(escaped("evil\r\n{\"forged\":1}") == R"(evil\r\n{\"forged\":1})");
}

TEST_CASE("well-formed UTF-8 passes unchanged, line separators are escaped") {
  CHECK(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
  CHECK(escaped("a\xc2\x85"
                "b\xe2\x80\xa8"
                "c\xe2\x80\xa9"
                "d") == R"(a\u0085b\u2028c\u2029d)");
  // Their neighbours are ordinary characters.
  CHECK(escaped("\xc2\x84\xe2\x80\xa7\xe2\x80\xaa") == "\xc2\x84\xe2\x80\xa7\xe2\x80\xaa");
}

TEST_CASE("every byte that does not begin a well-formed sequence becomes \\ufffd") {
  // A lone continuation byte, and bytes that never occur in UTF-8.
  CHECK(escaped("a\x80z") == R"(a\ufffdz)");
  CHECK(escaped("\xc0\xc1\xf5\xff") == R"(\ufffd\ufffd\ufffd\ufffd)");
  // Overlong forms of '/' and NUL.
  CHECK(escaped("\xc0\xaf") == R"(\ufffd\ufffd)");
  CHECK(escaped("\xe0\x80\xaf") == R"(\ufffd\ufffd\ufffd)");
  CHECK(escaped("\xf0\x80\x80\xaf") == R"(\ufffd\ufffd\ufffd\ufffd)");
  // A surrogate (U+D800) and a code point past U+10FFFF.
  CHECK(escaped("\xed\xa0\x80") == R"(\ufffd\ufffd\ufffd)");
  CHECK(escaped("\xf4\x90\x80\x80") == R"(\ufffd\ufffd\ufffd\ufffd)");
  // Cut short: at the end, and before an ASCII byte, which stays itself.
  CHECK(escaped("ok\xe2\x82") == R"(ok\ufffd\ufffd)");
  CHECK(escaped("\xe2\x82\"x") == R"(\ufffd\ufffd\"x)");
  CHECK(escaped("\xf0\x9f\x98\n") == R"(\ufffd\ufffd\ufffd\n)");
}

TEST_CASE("no input breaks the string: every byte value, and 8 KiB of hostile text") {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(char(c));
  std::string out = escaped(every_byte);
  CHECK(stays_one_string(out));
  CHECK(is_valid_utf8(out));

  std::string hostile;
  while (hostile.size() < 8192)
    hostile += "\"}\n{\"level\":\"critical\"\\\r\x00\xff\xe2\x80\xa8\xc3"s;
  out = escaped(hostile);
  CHECK(stays_one_string(out));
  CHECK(is_valid_utf8(out));
  CHECK(out.find('\n') == std::string::npos);
}
