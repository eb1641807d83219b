// Signal names as the log and the metrics write them.
#pragma once

#include <string.h>

#include <string>

#include "core/text.hpp"

namespace prefork {

// "TERM", "USR1"; the number when the signal has no name.
inline std::string signal_name(int signum) {
  const char* name = sigabbrev_np(signum);
  return name ? std::string(name) : std::to_string(signum);
}

// "term", "usr1": gunicorn's "Handling signal: term" and the metrics' signal label.
inline std::string signal_label(int signum) {
  return to_lower(signal_name(signum));
}

}  // namespace prefork
