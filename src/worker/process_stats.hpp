// What the kernel says about this process: resident memory and CPU use, for the periodic
// worker gauges.
#pragma once

namespace prefork::worker {

// Resident set size in bytes (/proc/self/statm), or -1 when it cannot be read.
double resident_memory_bytes();

// CPU time used by this process between two calls, as a percentage of one CPU over the wall
// time between them (getrusage): 100 means one core busy the whole time.
class CpuUsage {
 public:
  CpuUsage();
  double percent_since_last();

 private:
  double last_cpu_seconds_;
  double last_wall_seconds_;
};

}  // namespace prefork::worker
