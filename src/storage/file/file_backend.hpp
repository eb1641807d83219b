// The file backend (the default, and the fallback when Redis is unreachable at start): .db
// files in PROMETHEUS_MULTIPROC_DIR, or in a private temporary directory removed on exit.
#pragma once

#include "core/work_lane.hpp"
#include "storage/backend.hpp"
#include "storage/file/file_reader.hpp"

namespace prefork::storage::file {

class FileBackend final : public Backend {
 public:
  // redis_fallback: Redis was asked for and is not there (reported by /health).
  FileBackend(const config::Config& config, uv_loop_t* loop, bool redis_fallback);
  ~FileBackend() override;

  WorkerPlace prepare_worker() override;
  void worker_forked(pid_t) override {}
  void close_in_child() override {}
  void worker_reaped(pid_t pid, std::function<void()> done) override;
  std::unique_ptr<metrics::ValueStore> master_store() override;
  void master_values_changed() override {}
  void scrape(std::function<void(Result<std::string>)> done) override;
  void check_health(std::function<void(const Health&)> done) override;
  void shut_down() override;
  bool redis_fallback() const override { return redis_fallback_; }

 private:
  std::string process_of(long pid) const;

  const config::Config& config_;
  std::string directory_;
  bool own_directory_ = false;
  bool redis_fallback_;
  WorkLane cleanups_;
  FileReader reader_;
};

}  // namespace prefork::storage::file
