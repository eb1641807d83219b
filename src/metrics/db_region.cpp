#include "metrics/db_region.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace prefork::metrics {
namespace {

constexpr std::size_t header_size = 8;

std::system_error system_error(const std::string& what, const std::string& name) {
  return std::system_error(errno, std::generic_category(), what + " " + name);
}

std::size_t padding(std::size_t key_size) {
  return 8 - (key_size + 4) % 8;
}

std::int32_t read_int32(const char* at) {
  std::int32_t value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

double read_double(const char* at) {
  double value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// Walks the entries of data[0, used); calls visit(key, value offset) for each.
template <class Visit>
Status walk_entries(const char* data, std::size_t used, Visit visit) {
  std::size_t position = header_size;
  while (position < used) {
    if (position + 4 > used) {
      return Status::error("entry header beyond the used size at offset " +
                           std::to_string(position));
    }
    const std::int32_t key_size = read_int32(data + position);
    if (key_size < 0 || position + db_entry_size(std::size_t(key_size)) > used) {
      return Status::error("entry beyond the used size at offset " + std::to_string(position));
    }
    const std::string_view key(data + position + 4, std::size_t(key_size));
    const std::size_t value_offset = position + 4 + std::size_t(key_size) + padding(key_size);
    visit(key, value_offset);
    position = value_offset + 16;
  }
  return {};
}

std::size_t file_size(int fd, const std::string& name) {
  struct stat status;
  if (fstat(fd, &status) != 0) throw system_error("cannot stat", name);
  return std::size_t(status.st_size);
}

}  // namespace

std::size_t db_entry_size(std::size_t key_size) {
  return 4 + key_size + padding(key_size) + 16;
}

void format_db(int fd, const std::string& name) {
  if (ftruncate(fd, off_t(db_initial_size)) != 0) throw system_error("cannot size", name);
  const std::int32_t used = header_size;
  if (pwrite(fd, &used, sizeof used, 0) != ssize_t(sizeof used)) {
    throw system_error("cannot write header of", name);
  }
}

DbRegion::DbRegion(int fd, std::string name, std::size_t reserve)
    : fd_(fd), name_(std::move(name)), reserve_(reserve) {
  try {
    if (file_size(fd, name_) == 0) format_db(fd, name_);
    capacity_ = file_size(fd, name_);
    if (capacity_ < header_size) throw std::runtime_error(name_ + " is too short for a header");
    if (capacity_ > reserve_) reserve_ = capacity_;
    void* mapped = mmap(nullptr, reserve_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) throw system_error("cannot map", name_);
    base_ = static_cast<char*>(mapped);
    if (used() == 0) {
      std::atomic_ref<std::int32_t>(*reinterpret_cast<std::int32_t*>(base_))
          .store(header_size, std::memory_order_release);
    }
    index_entries();
  } catch (...) {
    if (base_) munmap(base_, reserve_);
    throw;
  }
}

DbRegion::~DbRegion() {
  munmap(base_, reserve_);
}

std::uint32_t DbRegion::used() const {
  return std::uint32_t(std::atomic_ref<std::int32_t>(*reinterpret_cast<std::int32_t*>(base_))
                           .load(std::memory_order_acquire));
}

void DbRegion::index_entries() {
  const std::size_t used_size = used();
  if (used_size > capacity_) {
    throw std::runtime_error(name_ + " is corrupted: used size " + std::to_string(used_size) +
                             " beyond the file size " + std::to_string(capacity_));
  }
  Status intact = walk_entries(base_, used_size, [&](std::string_view key, std::size_t at) {
    positions_.emplace(std::string(key), at);
  });
  if (!intact) throw std::runtime_error(name_ + " is corrupted: " + intact.message());
}

void DbRegion::grow(std::size_t needed) {
  std::size_t capacity = capacity_;
  while (needed > capacity) capacity *= 2;
  if (capacity > reserve_) {
    throw std::length_error(name_ + ": metric values need more than the reserved " +
                            std::to_string(reserve_ >> 20) + " MiB");
  }
  if (ftruncate(fd_.get(), off_t(capacity)) != 0) throw system_error("cannot grow", name_);
  capacity_ = capacity;
}

double* DbRegion::find(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto found = positions_.find(std::string(key));
  if (found == positions_.end()) return nullptr;
  return reinterpret_cast<double*>(base_ + found->second);
}

double* DbRegion::cell(std::string_view key) {
  std::lock_guard lock(mutex_);
  std::string owned(key);
  auto found = positions_.find(owned);
  if (found != positions_.end()) return reinterpret_cast<double*>(base_ + found->second);

  const std::size_t start = used();
  const std::size_t size = db_entry_size(key.size());
  if (start + size > std::size_t(INT32_MAX)) {
    throw std::length_error(name_ + ": metric values exceed the 2 GiB a .db file can hold");
  }
  if (start + size > capacity_) grow(start + size);
  char* entry = base_ + start;
  const std::int32_t key_size = std::int32_t(key.size());
  std::memcpy(entry, &key_size, 4);
  std::memcpy(entry + 4, key.data(), key.size());
  std::memset(entry + 4 + key.size(), ' ', padding(key.size()));
  const std::size_t value_offset = start + size - 16;
  std::memset(base_ + value_offset, 0, 16);
  // Readers trust everything below `used`: publish the entry only once it is complete.
  std::atomic_ref<std::int32_t>(*reinterpret_cast<std::int32_t*>(base_))
      .store(std::int32_t(start + size), std::memory_order_release);
  positions_.emplace(std::move(owned), value_offset);
  return reinterpret_cast<double*>(base_ + value_offset);
}

std::vector<StoredValue> DbRegion::values() const {
  std::vector<StoredValue> values;
  // Our own region: what index_entries accepted and appends extended stays well formed.
  (void)walk_entries(base_, used(), [&](std::string_view key, std::size_t at) {
    auto* cell = reinterpret_cast<double*>(base_ + at);
    values.push_back(StoredValue{std::string(key),
                                 std::atomic_ref<double>(cell[0]).load(std::memory_order_relaxed),
                                 std::atomic_ref<double>(cell[1]).load(std::memory_order_relaxed)});
  });
  return values;
}

int open_db_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) return fd;
  if (errno != ENOENT) throw system_error("cannot open", path);

  // Readers glob *.db: they never see the temporary file, and never see a half-made one.
  const std::string temporary = path + ".tmp-" + std::to_string(getpid());
  fd = open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw system_error("cannot create", temporary);
  try {
    format_db(fd, temporary);
  } catch (...) {
    close(fd);
    unlink(temporary.c_str());
    throw;
  }
  if (renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    return fd;
  }
  const int rename_error = errno;
  close(fd);
  unlink(temporary.c_str());
  if (rename_error != EEXIST) {
    errno = rename_error;
    throw system_error("cannot rename " + temporary + " to", path);
  }
  fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw system_error("cannot open", path);
  return fd;
}

Status read_db(int fd, std::vector<StoredValue>& values) {
  std::int32_t used = 0;
  const ssize_t got = pread(fd, &used, sizeof used, 0);
  if (got < 0) return Status::error(std::string("cannot read: ") + std::strerror(errno));
  if (got == 0 || used == 0) return {};  // never formatted: no values yet
  if (got != ssize_t(sizeof used) || used < std::int32_t(header_size)) {
    return Status::error("bad used size " + std::to_string(used));
  }
  std::string data(std::size_t(used), '\0');
  std::size_t have = 0;
  while (have < data.size()) {
    const ssize_t read_now = pread(fd, data.data() + have, data.size() - have, off_t(have));
    if (read_now < 0 && errno == EINTR) continue;
    if (read_now <= 0) {
      return Status::error("used size " + std::to_string(used) + " beyond the end of the file");
    }
    have += std::size_t(read_now);
  }
  return walk_entries(data.data(), data.size(), [&](std::string_view key, std::size_t at) {
    values.push_back(StoredValue{std::string(key), read_double(data.data() + at),
                                 read_double(data.data() + at + 8)});
  });
}

Status read_db_file(const std::string& path, std::vector<StoredValue>& values) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(std::string("cannot open: ") + std::strerror(errno));
  Status read = read_db(fd, values);
  close(fd);
  return read;
}

}  // namespace prefork::metrics
