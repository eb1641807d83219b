#include "storage/file/file_backend.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/file/file_store.hpp"

namespace prefork::storage::file {
namespace {

std::string make_private_directory() {
  char pattern[] = "/tmp/prefork-metrics-XXXXXX";
  if (!::mkdtemp(pattern))
    throw std::runtime_error(std::string("metrics directory: mkdtemp: ") + std::strerror(errno));
  return pattern;
}

void remove_directory(const std::string& path) {
  if (DIR* directory = ::opendir(path.c_str())) {
    while (dirent* entry = ::readdir(directory)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") ::unlink((path + "/" + name).c_str());
    }
    ::closedir(directory);
  }
  ::rmdir(path.c_str());
}

}  // namespace

FileBackend::FileBackend(const config::Config& config, uv_loop_t* loop, bool redis_fallback)
    : config_(config),
      directory_(config.metrics.multiproc_dir.empty() ? make_private_directory()
                                                      : config.metrics.multiproc_dir),
      own_directory_(config.metrics.multiproc_dir.empty()),
      redis_fallback_(redis_fallback),
      cleanups_(loop, "Metrics storage", 0),
      reader_(directory_, loop, redis_fallback) {
  // Someone else's directory may hold files that are still wanted: never wiped.
  log::info("Metrics: storage file in ", directory_,
            own_directory_ ? " (private, removed on exit)" : "");
}

FileBackend::~FileBackend() {
  cleanups_.drain(false);
  reader_.shut_down();
  if (own_directory_) remove_directory(directory_);
}

std::string FileBackend::process_of(long pid) const {
  return process_name(config_, pid);
}

WorkerPlace FileBackend::prepare_worker() {
  return {directory_, {}, nullptr};
}

// A cleanup that fails leaves the files in place (nothing is lost) and says why; trying again
// would fail the same way.
void FileBackend::worker_reaped(pid_t pid, std::function<void()> done) {
  std::string directory = directory_;
  std::string process = process_of(pid);
  bool fold = config_.metrics.cleanup_db_files;
  cleanups_.push({[directory, process, fold] {
                    FileCollector collector(directory);
                    bool clean = fold ? collector.cleanup_dead_worker(process)
                                      : collector.mark_process_dead(process);
                    if (!clean) {
                      for (const std::string& error : collector.errors())
                        log::error("Metrics: cleanup of ", process, ": ", error);
                    }
                    return Status();
                  },
                  [done](const Status&) {
                    if (done) done();
                  }});
}

std::unique_ptr<metrics::ValueStore> FileBackend::master_store() {
  return std::make_unique<FileStore>(directory_, process_of(getpid()));
}

void FileBackend::scrape(std::function<void(Result<std::string>)> done) {
  reader_.scrape(std::move(done));
}

void FileBackend::check_health(std::function<void(const Health&)> done) {
  reader_.check_health(std::move(done));
}

void FileBackend::shut_down() {
  cleanups_.drain(true);
  reader_.shut_down();
}

}  // namespace prefork::storage::file
