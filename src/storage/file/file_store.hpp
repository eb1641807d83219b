// Values of one process in PROMETHEUS_MULTIPROC_DIR, one .db file per kind named as
// prometheus_client names them: counter_{process}.db, gauge_livesum_{process}.db, …
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/db_region.hpp"
#include "metrics/value_store.hpp"

namespace prefork::storage::file {

// "{directory}/{kind token}_{process}.db"
std::string db_path(const std::string& directory, const metrics::ValueKind& kind,
                    const std::string& process);

class FileStore final : public metrics::ValueStore {
 public:
  // Files are made on first use of a kind (atomically: temporary name, then rename); an
  // existing file of the same name (same pid after a restart) is reopened and continued.
  FileStore(std::string directory, std::string process,
            std::size_t reserve = metrics::db_default_reserve);

  double* cell(const metrics::ValueKind& kind, const std::string& key) override;
  std::vector<metrics::ProcessValues> snapshot() const override;
  void close_in_child() override;

 private:
  std::string directory_;
  std::string process_;
  std::size_t reserve_;
  mutable std::mutex mutex_;
  std::map<std::string, std::pair<metrics::ValueKind, std::unique_ptr<metrics::DbRegion>>> regions_;
};

}  // namespace prefork::storage::file
