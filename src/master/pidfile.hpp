// The pidfile: written once the listeners are bound, removed when the master exits. USR2 moves
// it aside to PIDFILE.oldbin while the new master runs, and back if the new master fails.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.hpp"

namespace prefork::master {

class Pidfile {
 public:
  Pidfile() = default;
  ~Pidfile();
  Pidfile(Pidfile&& other) noexcept;
  Pidfile& operator=(Pidfile&& other) noexcept;
  Pidfile(const Pidfile&) = delete;
  Pidfile& operator=(const Pidfile&) = delete;

  // Writes the current pid to path atomically (temp file + rename).
  Status create(const std::string& path);
  // Moves the file to path (replacing what is there); the destructor then removes path.
  Status rename_to(const std::string& path);
  // Where the file is now; "" when there is none.
  const std::string& path() const { return path_; }

 private:
  void remove();

  std::string path_;
  pid_t owner_ = 0;  // forked workers share this object but must not remove the file
};

}  // namespace prefork::master
