// Numbers as the Prometheus text format of prometheus_client writes them (floatToGoString).
#pragma once

#include <string>

namespace prefork::metrics {

// Python's repr() of the double, except "+Inf", "-Inf", "NaN", and Go's exponent form for
// positive values of 1e+06 and more: 2.0, 1e+06, 1.234567e+06, 0.0001, 1e-05, -0.0.
std::string float_to_go_string(double value);
void append_go_float(std::string& out, double value);

}  // namespace prefork::metrics
