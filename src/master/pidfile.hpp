// The pidfile: written once the listeners are bound, removed when the master exits.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.hpp"

namespace prefork::master {

class Pidfile {
 public:
  Pidfile() = default;
  ~Pidfile();
  Pidfile(const Pidfile&) = delete;
  Pidfile& operator=(const Pidfile&) = delete;

  // Writes the current pid to path atomically (temp file + rename).
  Status create(const std::string& path);

 private:
  std::string path_;
  pid_t owner_ = 0;  // forked workers share this object but must not remove the file
};

}  // namespace prefork::master
