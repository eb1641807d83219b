// A worker's access log: one line per answered request in gunicorn's format, or one JSON object
// (log_format = "json"). Lines gather in
// memory and are written with one write() per loop iteration (a uv_check handle, which runs
// right after the iteration's I/O callbacks), or at once past 16 KiB, and when the log is
// destroyed. Each worker opens the file itself after fork (O_APPEND keeps the lines of all
// workers whole) and reopens it on SIGUSR1, which the master forwards to every worker.
#pragma once

#include <uv.h>

#include <ctime>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "core/uv_handle.hpp"
#include "core/wall_time.hpp"
#include "worker/access_format.hpp"
#include "worker/observer.hpp"

namespace prefork::worker {

// For the master before it forks: whether config's access log can be opened and its format
// compiles.
Status check_access_log(const config::Config& config);

class AccessLog final : public RequestObserver {
 public:
  // Null when config.accesslog is empty. Throws std::runtime_error when the file cannot be
  // opened or the format does not compile.
  static std::unique_ptr<AccessLog> start(const config::Config& config, uv_loop_t* loop);
  // Writes what is left and closes its handles; the loop's next turn releases them.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void on_request(const RequestRecord& record) override;
  // Writes the gathered lines now.
  void flush();
  // Writes what is gathered to the old file, then opens the path again (log rotation). The old
  // file stays in use when the path cannot be opened.
  void reopen();

 private:
  AccessLog(const config::Config& config, uv_loop_t* loop, AccessFormat format, UniqueFd fd);
  std::string_view timestamp();

  std::string path_;  // "-": standard output
  AccessFormat format_;
  bool json_;
  std::string line_;  // json: the text line, which becomes the object's message
  Rfc3339Clock clock_;
  std::string json_time_;
  UniqueFd fd_;  // standard output as a duplicate
  std::string pending_;
  bool write_failing_ = false;  // logged once until a write succeeds again
  std::time_t stamped_second_ = 0;
  std::string stamp_;
  UvHandle<uv_check_t> check_;
  UvHandle<uv_signal_t> usr1_;
};

}  // namespace prefork::worker
