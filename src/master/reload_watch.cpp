#include "master/reload_watch.hpp"

#include <algorithm>
#include <cstdint>

#include "core/log.hpp"

namespace prefork::master {
namespace {

// Editors and `install` touch a file several times in a row: one reload, once they are done.
constexpr std::uint64_t debounce_ms = 300;

std::string directory_of(const std::string& file) {
  auto slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

std::string name_of(const std::string& file) {
  auto slash = file.rfind('/');
  return slash == std::string::npos ? file : file.substr(slash + 1);
}

}  // namespace

ReloadWatch::ReloadWatch(uv_loop_t* loop, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)), debounce_(loop, uv_timer_init) {
  if (debounce_) debounce_->data = this;
}

void ReloadWatch::watch(const std::vector<std::string>& files) {
  if (files == files_) return;
  files_ = files;
  directories_.clear();
  if (debounce_) uv_timer_stop(debounce_.get());
  for (const std::string& file : files) {
    std::string path = directory_of(file);
    auto same = std::find_if(directories_.begin(), directories_.end(),
                             [&](const Directory& directory) { return directory.path == path; });
    if (same != directories_.end()) {
      same->files[name_of(file)] = file;
      continue;
    }
    Directory directory{path, {{name_of(file), file}}, {loop_, uv_fs_event_init}};
    if (!directory.event) continue;
    directory.event->data = this;
    int started = uv_fs_event_start(
        directory.event.get(),
        [](uv_fs_event_t* event, const char* name, int, int) {
          static_cast<ReloadWatch*>(event->data)->changed(event, name);
        },
        path.c_str(), 0);
    if (started != 0) {
      log::warning("reload: cannot watch ", path, ": ", uv_strerror(started));
      continue;
    }
    directories_.push_back(std::move(directory));
  }
}

void ReloadWatch::changed(uv_fs_event_t* event, const char* name) {
  if (!name || !debounce_) return;
  for (const Directory& directory : directories_) {
    if (directory.event.get() != event) continue;
    auto file = directory.files.find(name);
    if (file == directory.files.end()) return;
    last_changed_ = file->second;
    uv_timer_start(
        debounce_.get(),
        [](uv_timer_t* timer) { static_cast<ReloadWatch*>(timer->data)->settled(); }, debounce_ms,
        0);
    return;
  }
}

void ReloadWatch::settled() {
  log::info(last_changed_, " changed: reloading");
  on_change_();
}

}  // namespace prefork::master
