// gunicorn_worker_cpu_percent: the CPU time counter's rate over the last minute, whatever the
// times the readings are taken at.
#include <doctest/doctest.h>

#include "worker/cpu_window.hpp"

using prefork::worker::CpuWindow;

TEST_CASE("the first reading is 0, then CPU seconds per second since it, in percent") {
  CpuWindow window;
  CHECK(window.add(100, 5) == 0);
  CHECK(window.add(101, 5.5) == doctest::Approx(50));
  CHECK(window.add(102, 7.5) == doctest::Approx(125));  // 2.5 s over 2 s: more than one core
}

TEST_CASE("after a minute, only the last minute counts") {
  CpuWindow window;
  // One core busy for a minute, read every second.
  for (int second = 0; second <= 60; ++second) window.add(second, second);
  // Then idle: half a minute later half the window was busy, a minute later none of it.
  CHECK(window.add(90, 60) == doctest::Approx(50));
  CHECK(window.add(150, 60) == doctest::Approx(0));
}

TEST_CASE("the same use gives the same value, read every second or every 15 seconds") {
  CpuWindow every_second;
  CpuWindow every_fifteen;
  double last_second = 0;
  double last_fifteen = 0;
  for (int second = 0; second <= 300; ++second) {
    double cpu = second * 0.25;  // a quarter of a core, steadily
    last_second = every_second.add(second, cpu);
    if (second % 15 == 0) last_fifteen = every_fifteen.add(second, cpu);
  }
  CHECK(last_second == doctest::Approx(25));
  CHECK(last_fifteen == doctest::Approx(25));
}
