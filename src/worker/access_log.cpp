#include "worker/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include "core/log.hpp"

namespace prefork::worker {
namespace {

// Past this, lines are written at once rather than at the end of the loop iteration.
constexpr std::size_t flush_threshold = 16 * 1024;

bool is_stdout(const std::string& path) {
  return path == "-";
}

int open_append(const std::string& path) {
  if (is_stdout(path)) return STDOUT_FILENO;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

std::string open_error(const std::string& path) {
  return "accesslog " + path + ": " + std::strerror(errno);
}

// 0 or the errno of the failed write.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(std::size_t(written));
  }
  return 0;
}

template <class Handle>
void close_handle(Handle* handle) {
  if (!handle) return;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
}

}  // namespace

std::string check_access_log(const config::Config& config) {
  if (config.accesslog.empty()) return {};
  AccessFormat format;
  std::string error;
  if (!format.compile(config.access_log_format, error)) return error;
  int fd = open_append(config.accesslog);
  if (fd < 0) return open_error(config.accesslog);
  if (!is_stdout(config.accesslog)) ::close(fd);
  return {};
}

std::unique_ptr<AccessLog> AccessLog::start(const config::Config& config, uv_loop_t* loop) {
  if (config.accesslog.empty()) return nullptr;
  AccessFormat format;
  std::string error;
  if (!format.compile(config.access_log_format, error)) throw std::runtime_error(error);
  int fd = open_append(config.accesslog);
  if (fd < 0) throw std::runtime_error(open_error(config.accesslog));
  return std::unique_ptr<AccessLog>(new AccessLog(config, loop, std::move(format), fd));
}

AccessLog::AccessLog(const config::Config& config, uv_loop_t* loop, AccessFormat format, int fd)
    : path_(config.accesslog), format_(std::move(format)), fd_(fd) {
  pending_.reserve(2 * flush_threshold);
  // Neither handle keeps the loop alive: the server decides when the worker is done.
  check_ = new uv_check_t;
  uv_check_init(loop, check_);
  check_->data = this;
  uv_check_start(check_, [](uv_check_t* check) { static_cast<AccessLog*>(check->data)->flush(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
  // libuv calls every handle watching a signal, so the server's own USR1 handle (error log)
  // and this one both run.
  usr1_ = new uv_signal_t;
  uv_signal_init(loop, usr1_);
  usr1_->data = this;
  uv_signal_start(
      usr1_, [](uv_signal_t* signal, int) { static_cast<AccessLog*>(signal->data)->reopen(); },
      SIGUSR1);
  uv_unref(reinterpret_cast<uv_handle_t*>(usr1_));
}

AccessLog::~AccessLog() {
  flush();
  close_handle(check_);
  close_handle(usr1_);
  if (!is_stdout(path_)) ::close(fd_);
}

void AccessLog::on_request(const RequestRecord& record) {
  format_.append_line(pending_, record, timestamp());
  if (pending_.size() >= flush_threshold) flush();
}

// Local time, formatted once per second.
std::string_view AccessLog::timestamp() {
  std::time_t now = std::time(nullptr);
  if (now != stamped_second_ || stamp_.empty()) {
    stamp_ = format_timestamp(long(now));
    stamped_second_ = now;
  }
  return stamp_;
}

void AccessLog::flush() {
  if (pending_.empty()) return;
  int error = write_all(fd_, pending_);
  pending_.clear();
  if (error != 0 && !write_failing_) {
    log::error("access log ", path_, ": lines lost: ", std::strerror(error));
  }
  write_failing_ = error != 0;
}

void AccessLog::reopen() {
  flush();
  if (is_stdout(path_)) return;
  int fd = open_append(path_);
  if (fd < 0) {
    log::error(open_error(path_), ": still writing to the file opened before");
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

}  // namespace prefork::worker
