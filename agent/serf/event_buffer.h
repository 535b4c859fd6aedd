// The de-duplication rings for user events and queries (serf.go eventBuffer/queryBuffer):
// slot LTime mod size holds what was seen at that LTime; a slot is reused by a newer LTime.
// The event ring is also what push/pull carries, so a node that was away catches up.
#pragma once

#include <optional>
#include <vector>

#include "agent/serf/lamport.h"
#include "agent/serf/messages.h"

namespace kc::serf {

// Go's "too old" rule, shared by events and queries: with the clock past the ring size,
// anything more than a ring behind the clock can no longer be de-duplicated reliably.
inline bool too_old(LamportTime ltime, LamportTime now, size_t ring_size) {
  return now > ring_size && ltime < now - ring_size;
}

class EventBuffer {
 public:
  explicit EventBuffer(size_t size = 512) : slots_(size) {}
  // Records the event; false when (ltime, name, payload) was already seen.
  bool insert(LamportTime ltime, const std::string& name, const Bytes& payload);
  size_t size() const { return slots_.size(); }
  const std::vector<std::optional<UserEventSlot>>& slots() const { return slots_; }

 private:
  std::vector<std::optional<UserEventSlot>> slots_;
};

class QueryBuffer {
 public:
  explicit QueryBuffer(size_t size = 512) : slots_(size) {}
  // Records the query id; false when (ltime, id) was already seen.
  bool insert(LamportTime ltime, uint32_t id);
  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    LamportTime ltime = 0;
    std::vector<uint32_t> ids;
  };
  std::vector<std::optional<Slot>> slots_;
};

}  // namespace kc::serf
