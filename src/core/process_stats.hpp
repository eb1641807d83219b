// What the kernel says about this process, as prometheus_client's ProcessCollector reads it
// (the process_* metrics): CPU time, memory, descriptors, start time. Cheap enough for a timer,
// too dear per request.
#pragma once

namespace prefork {

// One reading. A value that cannot be read (no /proc) is -1.
struct ProcessStats {
  double cpu_seconds = -1;     // user + system time of every thread (getrusage)
  double resident_bytes = -1;  // resident set (/proc/self/statm)
  double virtual_bytes = -1;   // address space (/proc/self/statm: /proc/self/stat's vsize)
  double open_fds = -1;        // entries of /proc/self/fd, not counting the one reading it
  double max_fds = -1;         // the soft RLIMIT_NOFILE
};

ProcessStats read_process_stats();

// When this process started, in seconds since the epoch: now, less the process's age (the time
// since boot, less /proc/self/stat's starttime). prometheus_client adds starttime to /proc/stat's
// btime instead, which is whole seconds and fixed at boot, however the wall clock was set since.
// -1 when /proc cannot tell. A process's start time never changes: read it once.
double process_start_time_seconds();

}  // namespace prefork
