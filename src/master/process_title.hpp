// Process titles like setproctitle: `ps` and /proc/PID/cmdline show "prefork: master [name]".
#pragma once

#include <string>
#include <string_view>

namespace prefork::master {

// Takes over the memory of argv and environ (environ is moved to the heap first). Call once,
// early, after the caller has copied argv: the argv strings are overwritten by set_process_title.
void claim_process_title_memory(int argc, char** argv);

// Writes title over the original argv area (truncated to fit) and sets the thread name.
void set_process_title(std::string_view title);

std::string master_title(std::string_view proc_name);
// A master whose USR2 started a new one: "prefork: master (old) [name]".
std::string old_master_title(std::string_view proc_name);
std::string worker_title(std::string_view proc_name);
// The child that checks a new app on HUP: "prefork: app probe [name]".
std::string probe_title(std::string_view proc_name);
// `prefork metrics`: "prefork: metrics [name]".
std::string metrics_title(std::string_view proc_name);

}  // namespace prefork::master
