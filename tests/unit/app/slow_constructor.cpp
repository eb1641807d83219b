// A module whose static constructor does not return for a minute: a probe must give up on it.
#include <unistd.h>

namespace {
[[gnu::constructor]] void hang() {
  sleep(60);
}
}  // namespace
