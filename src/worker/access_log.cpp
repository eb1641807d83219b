#include "worker/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include "core/files.hpp"
#include "core/log.hpp"

namespace prefork::worker {
namespace {

// Past this, lines are written at once rather than at the end of the loop iteration.
constexpr std::size_t flush_threshold = 16 * 1024;

bool is_stdout(const std::string& path) {
  return path == "-";
}

// Standard output is borrowed: the UniqueFd of "-" owns a duplicate.
UniqueFd open_log(const std::string& path) {
  if (is_stdout(path)) return UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
  return open_append(path.c_str());
}

std::string open_error(const std::string& path) {
  return "accesslog " + path + ": " + std::strerror(errno);
}

}  // namespace

Status check_access_log(const config::Config& config) {
  if (config.accesslog.empty()) return {};
  AccessFormat format;
  if (Status compiled = format.compile(config.access_log_format); !compiled.ok()) return compiled;
  if (!open_log(config.accesslog)) return Status::error(open_error(config.accesslog));
  return {};
}

std::unique_ptr<AccessLog> AccessLog::start(const config::Config& config, uv_loop_t* loop) {
  if (config.accesslog.empty()) return nullptr;
  AccessFormat format;
  if (Status compiled = format.compile(config.access_log_format); !compiled.ok())
    throw std::runtime_error(compiled.message());
  UniqueFd fd = open_log(config.accesslog);
  if (!fd) throw std::runtime_error(open_error(config.accesslog));
  return std::unique_ptr<AccessLog>(new AccessLog(config, loop, std::move(format), std::move(fd)));
}

AccessLog::AccessLog(const config::Config& config, uv_loop_t* loop, AccessFormat format,
                     UniqueFd fd)
    : path_(config.accesslog),
      format_(std::move(format)),
      json_(config.log_format == "json"),
      fd_(std::move(fd)),
      check_(loop, uv_check_init),
      usr1_(loop, uv_signal_init) {
  pending_.reserve(2 * flush_threshold);
  // Neither handle keeps the loop alive: the server decides when the worker is done.
  check_->data = this;
  uv_check_start(check_.get(),
                 [](uv_check_t* check) { static_cast<AccessLog*>(check->data)->flush(); });
  uv_unref(check_.base());
  // libuv calls every handle watching a signal, so the server's own USR1 handle (error log)
  // and this one both run.
  usr1_->data = this;
  uv_signal_start(
      usr1_.get(),
      [](uv_signal_t* signal, int) { static_cast<AccessLog*>(signal->data)->reopen(); }, SIGUSR1);
  uv_unref(usr1_.base());
}

AccessLog::~AccessLog() {
  flush();
}

void AccessLog::on_request(const RequestRecord& record) {
  if (json_) {
    line_.clear();
    format_.append_line(line_, record, timestamp());
    line_.pop_back();
    json_time_.clear();
    clock_.append_now(json_time_);
    format_.append_json(pending_, record, json_time_, line_);
  } else {
    format_.append_line(pending_, record, timestamp());
  }
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
  int error = write_all(fd_.get(), pending_);
  pending_.clear();
  if (error != 0 && !write_failing_) {
    log::error("access log ", path_, ": lines lost: ", std::strerror(error));
  }
  write_failing_ = error != 0;
}

void AccessLog::reopen() {
  flush();
  if (is_stdout(path_)) return;
  UniqueFd fd = open_log(path_);
  if (!fd) {
    log::error(open_error(path_), ": still writing to the file opened before");
    return;
  }
  fd_ = std::move(fd);
}

}  // namespace prefork::worker
