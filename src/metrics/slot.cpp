#include "metrics/slot.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>

namespace prefork::metrics {
namespace {

// Not a value: its token is no kind, so no series can ever have this key.
constexpr std::string_view storage_client_key = "slot storage_client";

// Groups slot entries by the kind token before the first space.
Status group_by_kind(const std::vector<StoredValue>& entries, const std::string& process,
                     std::vector<ProcessValues>& grouped) {
  Status known;
  for (const StoredValue& entry : entries) {
    if (entry.key == storage_client_key) continue;
    const std::size_t space = entry.key.find(' ');
    ValueKind kind;
    if (space == std::string::npos || !ValueKind::parse(entry.key.substr(0, space), kind)) {
      known = Status::error("slot entry without a kind token: " + entry.key.substr(0, 40));
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

Status read_slot(int fd, const std::string& process, SlotContents& contents) {
  std::vector<StoredValue> entries;
  Status intact = read_db(fd, entries);
  for (const StoredValue& entry : entries) {
    if (entry.key == storage_client_key) contents.storage_client = entry.value;
  }
  Status known = group_by_kind(entries, process, contents.values);
  return intact ? known : intact;
}

SlotStore::SlotStore(int fd, std::string process, std::size_t reserve)
    : region_(fd, "metrics slot of " + process, reserve), process_(std::move(process)) {}

double* SlotStore::cell(const ValueKind& kind, const std::string& key) {
  std::string slot_key = kind.token();
  slot_key += ' ';
  slot_key += key;
  return region_.cell(slot_key);
}

void SlotStore::set_storage_client(double id) {
  *region_.cell(storage_client_key) = id;
}

std::vector<ProcessValues> SlotStore::snapshot() const {
  std::vector<ProcessValues> grouped;
  // Only our own entries are in our own region: every one has a kind.
  (void)group_by_kind(region_.values(), process_, grouped);
  return grouped;
}

}  // namespace prefork::metrics
