#include "storage/file/file_store.hpp"

namespace prefork::storage::file {

std::string db_path(const std::string& directory, const metrics::ValueKind& kind,
                    const std::string& process) {
  return directory + "/" + kind.token() + "_" + process + ".db";
}

FileStore::FileStore(std::string directory, std::string process, std::size_t reserve)
    : directory_(std::move(directory)), process_(std::move(process)), reserve_(reserve) {}

double* FileStore::cell(const metrics::ValueKind& kind, const std::string& key) {
  std::lock_guard lock(mutex_);
  auto found = regions_.find(kind.token());
  if (found == regions_.end()) {
    const std::string path = db_path(directory_, kind, process_);
    auto region = std::make_unique<metrics::DbRegion>(metrics::open_db_file(path), path, reserve_);
    found = regions_.emplace(kind.token(), std::make_pair(kind, std::move(region))).first;
  }
  return found->second.second->cell(key);
}

std::vector<metrics::ProcessValues> FileStore::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<metrics::ProcessValues> values;
  for (const auto& [token, region] : regions_) {
    values.push_back(metrics::ProcessValues{region.first, process_, region.second->values()});
  }
  return values;
}

// One thread runs in the child: the regions are walked without the lock.
void FileStore::close_in_child() {
  for (auto& [token, region] : regions_) region.second->close_descriptor();
}

}  // namespace prefork::storage::file
