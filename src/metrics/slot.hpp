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

// What a slot holds besides the values: the id the storage gave the worker's connection
// (Redis' CLIENT ID, 0 when unknown), so that the master can cut that connection off before it
// writes the dead worker's final values: data the worker sent just before dying must not land
// after them.
struct SlotContents {
  std::vector<ProcessValues> values;
  double storage_client = 0;
};

// Everything in a slot, values grouped by kind and tagged with process. An error when the slot
// is unreadable or corrupted, or has entries with an unknown kind token (skipped); what could
// be read is in contents all the same.
Status read_slot(int fd, const std::string& process, SlotContents& contents);

// The worker side: writes into the slot. Takes ownership of fd (the worker's inherited copy).
class SlotStore final : public ValueStore {
 public:
  SlotStore(int fd, std::string process, std::size_t reserve = db_default_reserve);

  double* cell(const ValueKind& kind, const std::string& key) override;
  std::vector<ProcessValues> snapshot() const override;
  // Written before the first value is sent over that connection (SlotContents).
  void set_storage_client(double id);

 private:
  DbRegion region_;
  std::string process_;
};

}  // namespace prefork::metrics
