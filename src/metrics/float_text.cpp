#include "metrics/float_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace prefork::metrics {
namespace {

struct Decimal {
  bool negative = false;
  char digits[24] = {};  // shortest round-trip significant digits, no trailing zeros
  int digit_count = 0;
  int exponent = 0;  // decimal exponent of the first digit
};

// The shortest digits that read back as the same double, as Python's repr uses.
Decimal shortest_decimal(double value) {
  Decimal decimal;
  char text[40];
  auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::scientific);
  const char* position = text;
  if (*position == '-') {
    decimal.negative = true;
    ++position;
  }
  for (; position < result.ptr && *position != 'e'; ++position) {
    if (*position != '.') decimal.digits[decimal.digit_count++] = *position;
  }
  // to_chars writes no terminator: read the exponent within [position, result.ptr) only.
  const char* exponent = position + 1;
  const bool negative_exponent = exponent < result.ptr && *exponent == '-';
  if (exponent < result.ptr && (*exponent == '-' || *exponent == '+')) ++exponent;
  std::from_chars(exponent, result.ptr, decimal.exponent);
  if (negative_exponent) decimal.exponent = -decimal.exponent;
  while (decimal.digit_count > 1 && decimal.digits[decimal.digit_count - 1] == '0') {
    --decimal.digit_count;
  }
  return decimal;
}

void append_exponent(std::string& out, int exponent) {
  out += exponent < 0 ? "e-" : "e+";
  const int magnitude = std::abs(exponent);
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
}

void append_scientific(std::string& out, const Decimal& decimal) {
  out += decimal.digits[0];
  if (decimal.digit_count > 1) {
    out += '.';
    out.append(decimal.digits + 1, decimal.digit_count - 1);
  }
  append_exponent(out, decimal.exponent);
}

// Python's repr: positional between 1e-4 and 1e16, always with a fractional part.
void append_positional(std::string& out, const Decimal& decimal) {
  if (decimal.exponent < 0) {
    out += "0.";
    out.append(std::size_t(-decimal.exponent - 1), '0');
    out.append(decimal.digits, decimal.digit_count);
    return;
  }
  const int integer_digits = decimal.exponent + 1;
  for (int i = 0; i < integer_digits; ++i) {
    out += i < decimal.digit_count ? decimal.digits[i] : '0';
  }
  out += '.';
  if (decimal.digit_count > integer_digits) {
    out.append(decimal.digits + integer_digits, decimal.digit_count - integer_digits);
  } else {
    out += '0';
  }
}

}  // namespace

void append_go_float(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  const Decimal decimal = shortest_decimal(value);
  if (decimal.negative) out += '-';
  // Go writes exponents from 1e+06 on; prometheus_client does so for positive values only.
  const bool go_exponent = !decimal.negative && decimal.exponent >= 6;
  if (go_exponent || decimal.exponent < -4 || decimal.exponent >= 16) {
    append_scientific(out, decimal);
  } else {
    append_positional(out, decimal);
  }
}

std::string float_to_go_string(double value) {
  std::string out;
  append_go_float(out, value);
  return out;
}

}  // namespace prefork::metrics
