// A worker's shared-memory slot (ARCHITECTURE.md): one memfd in the .db layout that the master
// creates before fork, the worker writes its values to, and the master reads after the worker
// is gone (even after SIGKILL). Entry keys are "{kind token} {JSON key}", so one region holds
// every kind: "counter [\"requests\", …]", "gauge_livesum [\"inflight\", …]".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "metrics/db_region.hpp"
#include "metrics/value_store.hpp"

namespace prefork::metrics {

// A new formatted slot. Close-on-exec: children made by fork inherit it, exec'd programs do
// not. Throws std::system_error.
int create_slot();

// Everything in a slot, grouped by kind, tagged with process. Entries with an unknown kind
// token are skipped and reported in error; false when the slot is unreadable or corrupted
// (the values read before the damage are still returned).
bool read_slot(int fd, const std::string& process, std::vector<ProcessValues>& values,
               std::string& error);

// The worker side: writes into the slot. Takes ownership of fd (the worker's inherited copy).
class SlotStore final : public ValueStore {
 public:
  SlotStore(int fd, std::string process, std::size_t reserve = db_default_reserve);

  double* cell(const ValueKind& kind, const std::string& key) override;
  std::vector<ProcessValues> snapshot() const override;

 private:
  DbRegion region_;
  std::string process_;
};

}  // namespace prefork::metrics
