// The error_type of a handler's exception, as the exporter's is the exception's class name.
#pragma once

#include <string>

namespace prefork::worker {

// The demangled type of the exception being handled ("std::runtime_error", "int"); only inside
// a catch block. Bounded: one value per type the app throws.
std::string current_exception_type();

}  // namespace prefork::worker
