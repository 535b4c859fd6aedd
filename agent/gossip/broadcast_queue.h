// memberlist's TransmitLimitedQueue (queue.go; docs/wire.md, "Failure detection and gossip"):
// broadcasts are handed out tier by tier (fewest transmits first), the longest message that still
// fits first, newest first on ties; each is retransmitted up to RetransmitMult × ceil(log10(n + 1))
// times. A named broadcast (memberlist's alive/suspect/dead about a node) replaces a queued one
// with the same name; unnamed ones (Serf's) are unique.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

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
  void queue(Bytes msg, std::string name = {}, Finished finished = {});
  // Messages to send now: each costs len + overhead; the total stays ≤ limit.
  std::vector<Bytes> get(size_t overhead, size_t limit);
  size_t size() const { return items_.size(); }
  // Drops the broadcasts with the most transmits until at most max_retain remain.
  void prune(size_t max_retain);
  void clear();

 private:
  struct Item {
    int transmits;
    size_t len;
    uint64_t id;
    Bytes msg;
    std::string name;
    Finished finished;
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

  Items items_;
  // Named broadcasts by name, so replacing one is not a scan of the whole queue.
  std::unordered_map<std::string, Items::iterator> by_name_;
  uint64_t next_id_ = 1;
};

}  // namespace kc::gossip
