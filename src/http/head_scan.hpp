// The line rules of a request head that llhttp 8.1 leaves to us (RFC 9112 §2.2, §5.2): every
// line ends in CRLF, with no bare CR (llhttp reads one as a line break: CVE-2023-30589) and no
// bare LF, and no field line is continued on the next (obs-fold). A proxy in front may frame
// such a head differently, which is how requests are smuggled past it.
#pragma once

#include <cstddef>

namespace prefork::http {

class HeadScanner {
 public:
  enum class Result { more, done, refused };

  // Scans the next bytes of a head. done: the empty line that ends the head was among them
  // (the bytes after it are not looked at); more: the head goes on.
  Result scan(const char* at, std::size_t length);
  void reset() { *this = HeadScanner(); }

 private:
  bool after_cr_ = false;
  std::size_t line_length_ = 0;
  std::size_t lines_ = 0;  // non-empty lines seen; empty lines before the first are skipped
};

}  // namespace prefork::http
