// {prefix}_worker_cpu_percent, derived from the CPU time counter (process_cpu_seconds_total):
// the CPU the worker used over the last minute, per second, times 100 — what
// 100 * rate(process_cpu_seconds_total[1m]) gives for the worker. A scrape at any moment and
// any interval sees every second of the last minute, not the gauge timer's last tick.
#pragma once

#include <deque>

namespace prefork::worker {

class CpuWindow {
 public:
  static constexpr double span_seconds = 60;

  // A reading (a monotonic time and the process's CPU seconds then). Returns the CPU used per
  // second since the last reading at least span_seconds old (since the first one while the
  // worker is younger), in percent of one core; 0 for the first reading.
  double add(double now_seconds, double cpu_seconds);

 private:
  struct Reading {
    double time;
    double cpu;
  };
  std::deque<Reading> readings_;
};

}  // namespace prefork::worker
