// The interfaces through which a layer above (Serf) plugs into the gossip core, as Serf does
// with memberlist (delegate.go, event_delegate.go, ping_delegate.go, conflict_delegate.go).
// The core knows nothing of Serf. Every callback runs on the core's event loop.
#pragma once

#include <span>
#include <vector>

#include "agent/gossip/types.h"

namespace kc::gossip {

class Delegate {
 public:
  virtual ~Delegate() = default;
  // Metadata for our alive messages (≤ limit bytes).
  virtual Bytes node_meta(size_t limit) = 0;
  // A user message (type 8) arrived, by UDP or TCP.
  virtual void notify_msg(std::span<const uint8_t> msg) = 0;
  // Messages to piggyback: each costs len + overhead; total ≤ limit.
  virtual std::vector<Bytes> get_broadcasts(size_t overhead, size_t limit) = 0;
  // User state for a push/pull (join tells whether this is the initial join).
  virtual Bytes local_state(bool join) = 0;
  virtual void merge_remote_state(std::span<const uint8_t> state, bool join) = 0;
};

class EventDelegate {
 public:
  virtual ~EventDelegate() = default;
  virtual void notify_join(const Node& node) = 0;
  virtual void notify_leave(const Node& node) = 0;  // dead or left
  virtual void notify_update(const Node& node) = 0;
};

class PingDelegate {
 public:
  virtual ~PingDelegate() = default;
  virtual Bytes ack_payload() = 0;
  virtual void notify_ping_complete(const Node& other, Duration rtt,
                                    std::span<const uint8_t> payload) = 0;
};

class ConflictDelegate {
 public:
  virtual ~ConflictDelegate() = default;
  // An alive message claims a known live name from another address.
  virtual void notify_conflict(const Node& existing, const Node& other) = 0;
};

}  // namespace kc::gossip
