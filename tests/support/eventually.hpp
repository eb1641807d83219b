// Waiting for something another process or thread does, where it gives no signal to wait on:
// poll the condition every few milliseconds until it holds or the deadline passes.
#pragma once

#include <chrono>
#include <thread>

namespace prefork::testing {

template <class Condition>
bool eventually(Condition condition,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace prefork::testing
