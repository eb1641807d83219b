// The master's side of file storage: reads every process's .db files in the directory and
// aggregates them (prometheus_client's MultiProcessCollector), and cleans up after a dead
// process.
//
// cleanup_dead_worker(pid) differs from prometheus_client's mark_process_dead, which only
// deletes live gauge files: to keep the number of files bounded by the live processes rather
// than by restarts, the dead process's counter, histogram, summary and min/max/sum/mostrecent
// gauge files are also folded into per-kind archive files ("counter_archive.db",
// "gauge_max_archive.db", …) and deleted. Archives are ordinary .db files, so
// prometheus_client reads the same totals. Gauges of mode "all" keep their files, as in
// prometheus_client: each of their series carries the pid (use liveall to drop them).
// Only the master writes archives, so cleanups must not run concurrently. A file is deleted
// right after its values are folded: a crash between the two would count it twice, never lose it.
#pragma once

#include <string>
#include <vector>

#include "metrics/aggregate.hpp"

namespace prefork::storage::file {

inline constexpr std::string_view archive_process = "archive";

class FileCollector {
 public:
  explicit FileCollector(std::string directory);

  // Every *.db file, sorted by file name (for a stable order), as process values. Unreadable
  // or corrupted files, and names that are not {kind}_{process}.db, are skipped and described
  // in errors(); a file deleted while reading (a live gauge of a dead process) is skipped
  // silently.
  std::vector<metrics::ProcessValues> read();
  std::vector<metrics::Family> collect(bool accumulate = true);
  // The same with keys parsed once for many scrapes (a reader's cache, see metrics/key_cache.hpp).
  std::vector<metrics::Family> collect(metrics::KeyCache& keys);
  const std::vector<std::string>& errors() const { return errors_; }

  // Deletes the live gauge files of process, folds its archived kinds into the archive files,
  // then deletes those files. Returns false (and says why in errors()) when something could
  // not be read or removed; what could not be folded is left in place, never lost.
  bool cleanup_dead_worker(const std::string& process);
  // prometheus_client's mark_process_dead (metrics.cleanup_db_files = false): deletes only the
  // live gauge files of process; its other files stay, one set per process that ever ran.
  bool mark_process_dead(const std::string& process);

  const std::string& directory() const { return directory_; }

 private:
  // fold: cleanup_dead_worker; else mark_process_dead.
  bool remove_files_of(const std::string& process, bool fold);

  std::string directory_;
  std::vector<std::string> errors_;
};

// Splits "gauge_livesum_123.db" into its kind and process; false for other names.
bool parse_db_file_name(std::string_view file_name, metrics::ValueKind& kind, std::string& process);

}  // namespace prefork::storage::file
