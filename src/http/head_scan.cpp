#include "http/head_scan.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace prefork::http {
namespace {

// The first CR or LF in [at, end), or end. Eight bytes at a time: a byte equal to CR or LF
// becomes zero after the XOR, and (x - 1) & ~x sets the high bit of a zero byte. Lanes above
// a zero byte may be set too, so only the lowest set lane is trusted. Heads are mostly text
// between line breaks, and this costs a fraction of a byte-by-byte loop.
const char* find_line_break(const char* at, const char* end) {
#if defined(__SSE2__)
  // Sixteen at a time where x86-64 has it (always): one compare per character and a mask.
  const __m128i cr16 = _mm_set1_epi8('\r');
  const __m128i lf16 = _mm_set1_epi8('\n');
  for (; end - at >= 16; at += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    unsigned mask = unsigned(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(bytes, cr16), _mm_cmpeq_epi8(bytes, lf16))));
    if (mask != 0) return at + std::countr_zero(mask);
  }
#endif
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  for (; end - at >= 8; at += 8) {
    std::uint64_t word;
    std::memcpy(&word, at, sizeof word);
    std::uint64_t cr = word ^ (ones * '\r');
    std::uint64_t lf = word ^ (ones * '\n');
    std::uint64_t lanes = (((cr - ones) & ~cr) | ((lf - ones) & ~lf)) & highs;
    if (lanes == 0) continue;
    if constexpr (std::endian::native == std::endian::little) {
      return at + std::countr_zero(lanes) / 8;
    } else {
      return at + std::countl_zero(lanes) / 8;
    }
  }
  while (at != end && *at != '\r' && *at != '\n') ++at;
  return at;
}

}  // namespace

HeadScanner::Result HeadScanner::scan(const char* at, std::size_t length) {
  const char* end = at + length;
  while (at != end) {
    if (after_cr_) {
      if (*at++ != '\n') return Result::refused;  // a bare CR
      after_cr_ = false;
      if (line_length_ == 0 && lines_ > 0) return Result::done;
      lines_ += line_length_ > 0;
      line_length_ = 0;
      continue;
    }
    // A line that starts with white space continues the one before (obs-fold).
    if (line_length_ == 0 && lines_ > 0 && (*at == ' ' || *at == '\t')) return Result::refused;
    const char* line_break = find_line_break(at, end);
    line_length_ += std::size_t(line_break - at);
    at = line_break;
    if (at == end) break;
    if (*at++ == '\n') return Result::refused;  // a bare LF
    after_cr_ = true;
  }
  return Result::more;
}

}  // namespace prefork::http
