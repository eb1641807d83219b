#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "metrics/float_text.hpp"

using prefork::metrics::float_to_go_string;

// Expected texts are prometheus_client's floatToGoString outputs.
TEST_CASE("floatToGoString vectors") {
  CHECK(float_to_go_string(2.0) == "2.0");
  CHECK(float_to_go_string(1e6) == "1e+06");
  CHECK(float_to_go_string(1234567.0) == "1.234567e+06");
  CHECK(float_to_go_string(0.0001) == "0.0001");
  CHECK(float_to_go_string(1e-05) == "1e-05");
  CHECK(float_to_go_string(NAN) == "NaN");
  CHECK(float_to_go_string(INFINITY) == "+Inf");
  CHECK(float_to_go_string(-INFINITY) == "-Inf");
  CHECK(float_to_go_string(-0.0) == "-0.0");
  CHECK(float_to_go_string(0.0) == "0.0");
  CHECK(float_to_go_string(0.1) == "0.1");
  CHECK(float_to_go_string(100.0) == "100.0");
  CHECK(float_to_go_string(123456789.0) == "1.23456789e+08");
}

TEST_CASE("Python repr rules at the edges") {
  CHECK(float_to_go_string(1e16) == "1e+16");
  CHECK(float_to_go_string(1.5e16) == "1.5e+16");
  CHECK(float_to_go_string(1e15) == "1e+15");
  CHECK(float_to_go_string(123456.7) == "123456.7");
  CHECK(float_to_go_string(-1e6) == "-1000000.0");
  CHECK(float_to_go_string(5e-324) == "5e-324");
  CHECK(float_to_go_string(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(float_to_go_string(0.00012345) == "0.00012345");
  CHECK(float_to_go_string(12345678.9) == "1.23456789e+07");
  CHECK(float_to_go_string(1e22) == "1e+22");
  CHECK(float_to_go_string(0.005) == "0.005");
  CHECK(float_to_go_string(-1.5) == "-1.5");
}
