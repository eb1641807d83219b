// How a worker's wait status reads in the log.
#pragma once

#include <sys/types.h>

#include <string>

#include "master/reap_observer.hpp"

namespace prefork::master {

// "Worker (pid:12) was sent SIGKILL! Perhaps out of memory?", "Worker (pid:12) exited with code 1"
std::string describe_exit(pid_t pid, int status);

}  // namespace prefork::master
