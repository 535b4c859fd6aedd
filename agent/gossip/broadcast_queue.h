// memberlist's TransmitLimitedQueue (queue.go; docs/wire.md, "Failure detection and gossip"):
// broadcasts are handed out tier by tier (fewest transmits first), the longest message that still
// fits first, newest first on ties; each is retransmitted up to RetransmitMult × ceil(log10(n + 1))
// times. A named broadcast (memberlist's alive/suspect/dead about a node) replaces a queued one
// with the same name; unnamed ones (Serf's) are unique.
// Packed like the member table (a queue holds about one broadcast per member while a cluster
// forms): names and message bytes are Interned, so equal broadcasts queued by many members of
// one process share their bytes, and the callbacks, rarely set, live beside the queue.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/gossip/interned.h"
#include "agent/gossip/name_index.h"
#include "agent/gossip/types.h"

namespace kc::gossip {

int retransmit_limit(int retransmit_mult, size_t num_nodes);

class BroadcastQueue {
 public:
  using Finished = std::function<void()>;  // called once the broadcast is done or replaced

  BroadcastQueue(int retransmit_mult, std::function<size_t()> num_nodes)
      : retransmit_mult_(retransmit_mult), num_nodes_(std::move(num_nodes)) {}
  ~BroadcastQueue();

  // `name` empty = unique broadcast.
  void queue(Bytes msg, std::string_view name = {}, Finished finished = {});
  // Messages to send now: each costs len + overhead; the total stays ≤ limit.
  std::vector<Bytes> get(size_t overhead, size_t limit);
  size_t size() const { return items_.size(); }
  // Drops the broadcasts with the most transmits until at most max_retain remain.
  void prune(size_t max_retain);
  void clear();

 private:
  struct Item {
    uint32_t transmits;
    uint32_t len;
    uint64_t id;
    Interned msg;
    Interned name;  // empty: unnamed
  };
  // transmits ascending, length descending, id descending (newest first)
  struct Order {
    bool operator()(const Item& a, const Item& b) const {
      if (a.transmits != b.transmits) return a.transmits < b.transmits;
      if (a.len != b.len) return a.len > b.len;
      return a.id > b.id;
    }
  };

  int retransmit_mult_;
  std::function<size_t()> num_nodes_;
  using Items = std::set<Item, Order>;
  Items::iterator insert(Item item);
  void erase(Items::iterator it);
  void finish(uint64_t id);  // runs and forgets the item's callback, if it has one

  Items items_;
  // Named broadcasts by name, so replacing one is not a scan of the whole queue.
  NameIndex<const Item> by_name_;
  std::unordered_map<uint64_t, Finished> finished_;  // by item id, only those with a callback
  uint64_t next_id_ = 1;
};

}  // namespace kc::gossip
