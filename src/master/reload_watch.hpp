// --reload (development): watches files and asks for a reload once they have stopped changing.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/uv_handle.hpp"

namespace prefork::master {

class ReloadWatch {
 public:
  // on_change runs on the loop, a moment after the last change of a watched file.
  ReloadWatch(uv_loop_t* loop, std::function<void()> on_change);
  ReloadWatch(const ReloadWatch&) = delete;
  ReloadWatch& operator=(const ReloadWatch&) = delete;

  // Watches exactly these files from now on (none: stops watching). Each file's directory is
  // watched, not the file: a file replaced by rename is a new inode, which a watch of the old
  // one would never see. A directory that cannot be watched is logged and skipped.
  void watch(const std::vector<std::string>& files);

 private:
  struct Directory {
    std::string path;
    std::map<std::string, std::string> files;  // name in the directory -> as configured
    UvHandle<uv_fs_event_t> event;
  };

  void changed(uv_fs_event_t* event, const char* name);
  void settled();

  uv_loop_t* loop_;
  std::function<void()> on_change_;
  std::vector<std::string> files_;  // what watch() was given last
  std::vector<Directory> directories_;
  UvTimer debounce_;
  std::string last_changed_;  // as configured, for the log
};

}  // namespace prefork::master
