// prometheus_client's .db layout (ARCHITECTURE.md) over any mmap-able file descriptor: a file in
// PROMETHEUS_MULTIPROC_DIR or a memfd the master creates for a worker's shared-memory slot.
//
//   int32 used, 4 bytes padding, then entries:
//   int32 key length, UTF-8 key, 1..8 spaces up to 8-byte alignment, double value, double timestamp
//
// The file starts at 64 KiB and doubles. The whole reservation is mapped up front and the file
// grows under it with ftruncate, so value addresses stay valid for the region's life and the
// hot path writes straight to them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "metrics/sample.hpp"

namespace prefork::metrics {

inline constexpr std::size_t db_initial_size = std::size_t(1) << 16;
// Address space only: pages are backed when the file grows into them.
inline constexpr std::size_t db_default_reserve = std::size_t(1) << 30;

class DbRegion {
 public:
  // Takes ownership of fd, which must be open for reading and writing. An empty file is
  // formatted; a formatted one (ours or prometheus_client's) is indexed. name is used in error
  // messages. Throws std::system_error when mapping fails, std::runtime_error when the
  // content is corrupted.
  DbRegion(int fd, std::string name, std::size_t reserve = db_default_reserve);
  ~DbRegion();
  DbRegion(const DbRegion&) = delete;
  DbRegion& operator=(const DbRegion&) = delete;

  // The value of key, followed in memory by its timestamp; added as 0.0, 0.0 when new (as
  // prometheus_client does). Throws std::length_error when the reservation is full.
  double* cell(std::string_view key);
  // The value of key, or nullptr when absent.
  double* find(std::string_view key);
  // Every entry, in the order they were added.
  std::vector<StoredValue> values() const;

  // In a forked child that must not keep the file open; the mapping stays, unused.
  void close_descriptor() { fd_.reset(); }
  const std::string& name() const { return name_; }

 private:
  void grow(std::size_t needed);
  void index_entries();
  std::uint32_t used() const;

  UniqueFd fd_;
  std::string name_;
  char* base_ = nullptr;
  std::size_t reserve_;
  std::size_t capacity_ = 0;
  std::mutex mutex_;  // guards appends and positions_; value reads and writes are atomic
  std::unordered_map<std::string, std::size_t> positions_;
};

// Atomically makes a formatted empty .db file at path (written under a temporary name, then
// renamed without replacing), or opens the existing one. Returns a read-write fd; throws
// std::system_error naming the path on failure.
int open_db_file(const std::string& path);

// Gives an empty fd (a new file or memfd) the initial size and an empty header.
void format_db(int fd, const std::string& name);

// Reads the entries of a .db file or memfd without mapping it (pread of the used part), as
// prometheus_client's read_all_values_from_file does, appending to values. An error says why
// the content is corrupted or unreadable; the values read before the damage are kept.
Status read_db(int fd, std::vector<StoredValue>& values);
Status read_db_file(const std::string& path, std::vector<StoredValue>& values);

// The padded size of an entry holding a key of key_size bytes.
std::size_t db_entry_size(std::size_t key_size);

}  // namespace prefork::metrics
