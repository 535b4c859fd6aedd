#include "agent/gossip/broadcast_queue.h"

#include <cmath>

namespace kc::gossip {

int retransmit_limit(int retransmit_mult, size_t num_nodes) {
  double scale = std::ceil(std::log10(double(num_nodes) + 1));
  return retransmit_mult * static_cast<int>(scale);
}

BroadcastQueue::~BroadcastQueue() {
  clear();
}

BroadcastQueue::Items::iterator BroadcastQueue::insert(Item item) {
  auto it = items_.insert(std::move(item)).first;
  if (!it->name.empty()) by_name_[it->name] = it;
  return it;
}

void BroadcastQueue::erase(Items::iterator it) {
  if (!it->name.empty()) by_name_.erase(it->name);
  items_.erase(it);
}

void BroadcastQueue::queue(Bytes msg, std::string name, Finished finished) {
  if (!name.empty()) {
    if (auto found = by_name_.find(name); found != by_name_.end()) {
      auto done = found->second->finished;
      erase(found->second);
      if (done) done();
    }
  }
  size_t len = msg.size();
  insert(Item{0, len, next_id_++, std::move(msg), std::move(name), std::move(finished)});
}

std::vector<Bytes> BroadcastQueue::get(size_t overhead, size_t limit) {
  std::vector<Bytes> out;
  if (items_.empty()) return out;
  int transmit_limit = retransmit_limit(retransmit_mult_, num_nodes_());
  size_t used = 0;
  std::vector<Item> reinsert;
  int max_tier = items_.rbegin()->transmits;
  for (int tier = items_.begin()->transmits; tier <= max_tier;) {
    if (used + overhead >= limit) break;
    size_t free = limit - used - overhead;
    // First item of this tier whose length fits: the set is ordered by length descending.
    auto it = items_.lower_bound(Item{tier, free, UINT64_MAX, {}, {}, {}});
    if (it == items_.end() || it->transmits != tier) {
      ++tier;
      continue;
    }
    Item item = std::move(const_cast<Item&>(*it));
    if (!item.name.empty()) by_name_.erase(item.name);
    items_.erase(it);
    used += overhead + item.msg.size();
    out.push_back(item.msg);
    if (item.transmits + 1 >= transmit_limit) {
      if (item.finished) item.finished();
    } else {
      ++item.transmits;
      reinsert.push_back(std::move(item));
    }
  }
  for (auto& item : reinsert) insert(std::move(item));
  return out;
}

void BroadcastQueue::prune(size_t max_retain) {
  while (items_.size() > max_retain) {
    auto last = std::prev(items_.end());
    auto done = last->finished;
    erase(last);
    if (done) done();
  }
}

void BroadcastQueue::clear() {
  auto items = std::move(items_);
  items_.clear();
  by_name_.clear();
  for (auto& item : items)
    if (item.finished) item.finished();
}

}  // namespace kc::gossip
