// ASCII case and signal names.
#include <csignal>

#include <doctest/doctest.h>

#include "core/signal_name.hpp"
#include "core/text.hpp"

using namespace prefork;

TEST_CASE("iequals ignores ASCII case only") {
  CHECK(iequals("Transfer-Encoding", "transfer-encoding"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("chunked", "chunke"));
  CHECK_FALSE(iequals("a-1", "a_1"));
  // Bytes past ASCII are compared as they are: no locale folds them.
  CHECK_FALSE(iequals("\xc3\x89", "\xc3\xa9"));
}

TEST_CASE("to_lower keeps digits and symbols") {
  CHECK(to_lower("USR1") == "usr1");
  CHECK(to_lower("X-Request-ID: 42") == "x-request-id: 42");
}

TEST_CASE("signals read as gunicorn writes them") {
  CHECK(signal_label(SIGUSR1) == "usr1");
  CHECK(signal_label(SIGUSR2) == "usr2");
  CHECK(signal_label(SIGTERM) == "term");
  CHECK(signal_name(SIGKILL) == "KILL");
}
