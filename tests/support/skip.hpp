// A test that cannot run here says so and exits 77, which meson reports as SKIP, never as a
// pass. Such tests live in their own executable, so that skipping one skips nothing else.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace prefork::testing {

[[noreturn]] inline void skip_test(const char* why) {
  std::printf("SKIP: %s\n", why);
  std::fflush(stdout);
  std::exit(77);
}

}  // namespace prefork::testing
