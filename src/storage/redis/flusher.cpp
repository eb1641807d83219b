#include "storage/redis/flusher.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/scripts.hpp"
#include "storage/redis/write_commands.hpp"

namespace prefork::storage {
namespace {

std::string entry_id(std::string_view kind, std::string_view process, std::string_view key) {
  std::string id;
  id.reserve(kind.size() + process.size() + key.size() + 2);
  id.append(kind).push_back('\0');
  id.append(process).push_back('\0');
  id.append(key);
  return id;
}

}  // namespace

RedisFlusher::RedisFlusher(RedisStorageDict& dict, uv_loop_t* loop, Identified identified)
    : dict_(dict), identified_(std::move(identified)), touch_timer_(loop, uv_timer_init) {
  AsyncConnection::Events events;
  events.ready = [this] { on_ready(); };
  events.lost = [](const std::string& reason) { log::warning("redis: flushing paused: ", reason); };
  connection_ = &dict_.client().attach(loop, std::move(events));

  if (dict_.ttl_seconds() == 0) return;  // keys that never expire need no refresh
  // A third of the TTL leaves two chances to refresh before anything expires.
  std::uint64_t period_ms = std::max<std::uint64_t>(1000, dict_.ttl_seconds() * 1000ULL / 3);
  touch_timer_->data = this;
  uv_timer_start(
      touch_timer_.get(),
      [](uv_timer_t* timer) { static_cast<RedisFlusher*>(timer->data)->send_touch(); }, period_ms,
      period_ms);
  uv_unref(touch_timer_.base());
}

RedisFlusher::~RedisFlusher() {
  closing_ = true;
  dict_.client().detach();
}

bool RedisFlusher::is_connected() const {
  return connection_->is_ready();
}

bool RedisFlusher::is_connecting() const {
  return connection_->is_connecting();
}

const std::string& RedisFlusher::last_error() const {
  return connection_->last_error();
}

void RedisFlusher::mark_dirty(Entry& entry) {
  if (entry.dirty) return;
  entry.dirty = true;
  dirty_.push_back(&entry);
}

void RedisFlusher::write_values(const std::vector<metrics::ProcessValues>& changed) {
  for (const metrics::ProcessValues& group : changed) {
    std::string kind = group.kind.token();
    if (!group.values.empty()) processes_.insert(group.process);
    for (const metrics::StoredValue& stored : group.values) {
      auto [found, added] = entries_.try_emplace(entry_id(kind, group.process, stored.key));
      Entry& entry = found->second;
      if (added) {
        entry.kind = kind;
        entry.process = group.process;
        entry.md5 = metrics::md5_hex(stored.key);
      }
      entry.value = stored;
      mark_dirty(entry);
    }
  }
  send_dirty();
}

// After every (re)connect Redis may have lost everything (a restart without persistence):
// send the whole state again, meta and index included.
void RedisFlusher::on_ready() {
  ++stats_.connects;
  if (outage_reported_) log::info("redis: flushing resumed");
  outage_reported_ = false;
  if (identified_) identified_(connection_->client_id());
  for (auto& [id, entry] : entries_) {
    entry.meta_sent = false;
    mark_dirty(entry);
  }
  send_dirty();
}

void RedisFlusher::send_dirty() {
  if (sending_ || dirty_.empty() || !connection_->is_ready()) return;
  std::vector<Command> commands;
  commands.reserve(dirty_.size() * 2 + processes_.size() * 3);
  std::string now = format_double(local_time() + connection_->clock_offset());
  std::set<std::string_view> batch_processes;
  for (Entry* entry : dirty_) {
    append_series_write(dict_.layout(), dict_.ttl_seconds(), now,
                        {entry->kind, entry->process, entry->md5, &entry->value, !entry->meta_sent},
                        commands);
    if (!entry->meta_sent) batch_processes.insert(entry->process);
    entry->meta_sent = true;
    entry->dirty = false;
  }
  for (std::string_view process : batch_processes) {
    append_process_registration(dict_.layout(), dict_.ttl_seconds(), process, commands);
  }
  in_flight_ = std::move(dirty_);
  dirty_.clear();
  sending_ = true;
  bool sent = connection_->send(commands, [this](const Status& outcome) {
    if (!outcome && !closing_) log::debug("redis: a flush batch failed: ", outcome.message());
    on_batch_done(outcome.ok());
  });
  if (!sent) on_batch_done(false);
}

void RedisFlusher::on_batch_done(bool ok) {
  if (closing_) return;
  sending_ = false;
  if (ok) {
    ++stats_.batches;
    stats_.values += in_flight_.size();
  } else {
    ++stats_.failed_batches;
    for (Entry* entry : in_flight_) {
      entry->meta_sent = false;
      mark_dirty(*entry);
    }
  }
  in_flight_.clear();
  if (ok) send_dirty();
}

void RedisFlusher::send_touch() {
  if (processes_.empty() || !connection_->is_ready()) return;
  Command touch = {"EVAL", std::string(scripts::touch), "0", dict_.layout().prefix(),
                   std::to_string(dict_.ttl_seconds())};
  touch.insert(touch.end(), processes_.begin(), processes_.end());
  touch.push_back(dict_.archive());
  connection_->send({touch}, [](const Status& outcome) {
    if (!outcome) log::debug("redis: refreshing TTLs failed: ", outcome.message());
  });
}

}  // namespace prefork::storage
