#include "metrics/slot.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace prefork::metrics {
namespace {

// Groups slot entries by the kind token before the first space.
bool group_by_kind(const std::vector<StoredValue>& entries, const std::string& process,
                   std::vector<ProcessValues>& grouped, std::string& error) {
  bool known = true;
  for (const StoredValue& entry : entries) {
    const std::size_t space = entry.key.find(' ');
    ValueKind kind;
    if (space == std::string::npos || !ValueKind::parse(entry.key.substr(0, space), kind)) {
      error = "slot entry without a kind token: " + entry.key.substr(0, 40);
      known = false;
      continue;
    }
    ProcessValues* target = nullptr;
    for (auto& candidate : grouped) {
      if (candidate.kind == kind) target = &candidate;
    }
    if (!target) target = &grouped.emplace_back(ProcessValues{kind, process, {}});
    target->values.push_back(
        StoredValue{entry.key.substr(space + 1), entry.value, entry.timestamp});
  }
  return known;
}

}  // namespace

int create_slot() {
  const int fd = memfd_create("prefork-metrics", MFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  try {
    format_db(fd, "metrics slot");
  } catch (...) {
    close(fd);
    throw;
  }
  return fd;
}

bool read_slot(int fd, const std::string& process, std::vector<ProcessValues>& values,
               std::string& error) {
  std::vector<StoredValue> entries;
  const bool intact = read_db(fd, entries, error);
  const bool known = group_by_kind(entries, process, values, error);
  return intact && known;
}

SlotStore::SlotStore(int fd, std::string process, std::size_t reserve)
    : region_(fd, "metrics slot of " + process, reserve), process_(std::move(process)) {}

double* SlotStore::cell(const ValueKind& kind, const std::string& key) {
  std::string slot_key = kind.token();
  slot_key += ' ';
  slot_key += key;
  return region_.cell(slot_key);
}

std::vector<ProcessValues> SlotStore::snapshot() const {
  std::vector<ProcessValues> grouped;
  std::string error;
  group_by_kind(region_.values(), process_, grouped, error);
  return grouped;
}

}  // namespace prefork::metrics
