#include "storage/file/file_collector.hpp"

#include <dirent.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "metrics/db_region.hpp"
#include "metrics/fold.hpp"
#include "storage/file/file_store.hpp"

namespace prefork::storage::file {
namespace {

constexpr std::string_view db_suffix = ".db";
constexpr std::string_view gauge_prefix = "gauge_";

Status list_db_files(const std::string& directory, std::vector<std::string>& names) {
  DIR* listing = opendir(directory.c_str());
  if (!listing) return Status::error(directory + ": " + std::strerror(errno));
  while (const dirent* entry = readdir(listing)) {
    std::string_view name = entry->d_name;
    if (name.size() > db_suffix.size() && name.ends_with(db_suffix)) names.emplace_back(name);
  }
  closedir(listing);
  std::sort(names.begin(), names.end());
  return {};
}

Status fold_file(const std::string& directory, const metrics::ValueKind& kind,
                 const std::string& dead_path) {
  std::vector<metrics::StoredValue> dead;
  if (Status read = metrics::read_db_file(dead_path, dead); !read) {
    return Status::error(dead_path + ": " + read.message());
  }
  const std::string archive_path = db_path(directory, kind, std::string(archive_process));
  try {
    int fd = metrics::open_db_file(archive_path);
    // Two masters fold into one archive while a USR2 upgrade runs on a shared multiproc_dir:
    // each fold reads, adds and appends under the lock (released when the region closes fd).
    flock(fd, LOCK_EX);
    metrics::DbRegion archive(fd, archive_path);
    for (const metrics::StoredValue& value : dead) {
      double* existing = archive.find(value.key);
      double* cell = existing ? existing : archive.cell(value.key);
      metrics::StoredValue folded{value.key, cell[0], cell[1]};
      metrics::fold_into(kind, folded, existing != nullptr, value);
      cell[0] = folded.value;
      cell[1] = folded.timestamp;
    }
  } catch (const std::exception& failure) {
    return Status::error(failure.what());
  }
  return {};
}

}  // namespace

bool parse_db_file_name(std::string_view file_name, metrics::ValueKind& kind,
                        std::string& process) {
  if (!file_name.ends_with(db_suffix)) return false;
  std::string_view stem = file_name.substr(0, file_name.size() - db_suffix.size());
  std::size_t separator = stem.find('_');
  if (stem.starts_with(gauge_prefix)) separator = stem.find('_', gauge_prefix.size());
  if (separator == std::string_view::npos || separator + 1 >= stem.size()) return false;
  if (!metrics::ValueKind::parse(stem.substr(0, separator), kind)) return false;
  process = std::string(stem.substr(separator + 1));
  return true;
}

FileCollector::FileCollector(std::string directory) : directory_(std::move(directory)) {}

std::vector<metrics::ProcessValues> FileCollector::read() {
  errors_.clear();
  std::vector<std::string> names;
  if (Status listed = list_db_files(directory_, names); !listed) {
    errors_.push_back(listed.message());
    return {};
  }
  std::vector<metrics::ProcessValues> values;
  for (const std::string& name : names) {
    metrics::ProcessValues file;
    if (!parse_db_file_name(name, file.kind, file.process)) {
      errors_.push_back(name + ": not a {kind}_{process}.db name");
      continue;
    }
    const std::string path = directory_ + "/" + name;
    if (Status read = metrics::read_db_file(path, file.values); !read) {
      if (errno == ENOENT && file.kind.is_live_gauge()) continue;
      errors_.push_back(path + ": " + read.message());
      if (file.values.empty()) continue;
    }
    values.push_back(std::move(file));
  }
  return values;
}

std::vector<metrics::Family> FileCollector::collect(bool accumulate) {
  std::vector<metrics::ProcessValues> values = read();
  return metrics::aggregate(values, accumulate, &errors_);
}

std::vector<metrics::Family> FileCollector::collect(metrics::KeyCache& keys) {
  std::vector<metrics::ProcessValues> values = read();
  std::vector<metrics::Family> families = metrics::aggregate(values, keys, true, &errors_);
  keys.drop_unused();
  return families;
}

bool FileCollector::cleanup_dead_worker(const std::string& process) {
  return remove_files_of(process, true);
}

bool FileCollector::mark_process_dead(const std::string& process) {
  return remove_files_of(process, false);
}

bool FileCollector::remove_files_of(const std::string& process, bool fold) {
  errors_.clear();
  std::vector<std::string> names;
  if (Status listed = list_db_files(directory_, names); !listed) {
    errors_.push_back(listed.message());
    return false;
  }
  bool clean = true;
  for (const std::string& name : names) {
    metrics::ValueKind kind;
    std::string owner;
    if (!parse_db_file_name(name, kind, owner) || owner != process) continue;
    const bool archived = metrics::is_archived(kind);
    if (archived ? !fold : !kind.is_live_gauge()) continue;
    const std::string path = directory_ + "/" + name;
    if (Status folded = archived ? fold_file(directory_, kind, path) : Status(); !folded) {
      errors_.push_back(folded.message());
      clean = false;
      continue;
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      errors_.push_back(path + ": " + std::strerror(errno));
      clean = false;
    }
  }
  return clean;
}

}  // namespace prefork::storage::file
