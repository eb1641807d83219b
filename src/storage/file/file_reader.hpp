// The file reader: scrapes of a directory of .db files, the read half of the file backend,
// and what `prefork metrics` serves without Redis (the directory other processes write).
#pragma once

#include <string>

#include "core/work_lane.hpp"
#include "metrics/key_cache.hpp"
#include "storage/backend.hpp"

namespace prefork::storage::file {

class FileReader final : public Reader {
 public:
  // redis_fallback: Redis was asked for and is not there (reported by /health).
  FileReader(std::string directory, uv_loop_t* loop, bool redis_fallback);
  ~FileReader() override;

  void scrape(std::function<void(Result<std::string>)> done) override;
  void check_health(std::function<void(const Health&)> done) override;
  void shut_down() override;

 private:
  std::string directory_;
  bool redis_fallback_;
  metrics::KeyCache keys_;  // the scrape lane's, one scrape at a time
  WorkLane scrapes_;
};

}  // namespace prefork::storage::file
