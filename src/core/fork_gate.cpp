#include "core/fork_gate.hpp"

namespace prefork::fork_gate {
namespace {

// A function-local static: constructed on first use, never destroyed before pool threads stop.
std::mutex& gate() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

// Whether this thread holds the gate now (a Hold that is not inside OpenWhileWaiting).
thread_local bool held = false;

}  // namespace

Hold::Hold() {
  gate().lock();
  held = true;
}

Hold::~Hold() {
  held = false;
  gate().unlock();
}

OpenWhileWaiting::OpenWhileWaiting() : opened_(held) {
  if (!opened_) return;
  held = false;
  gate().unlock();
}

OpenWhileWaiting::~OpenWhileWaiting() {
  if (!opened_) return;
  gate().lock();
  held = true;
}

void close_for_fork() {
  gate().lock();
}

void open_after_fork() {
  gate().unlock();
}

}  // namespace prefork::fork_gate
