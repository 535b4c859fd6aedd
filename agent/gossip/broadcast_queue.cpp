#include "agent/gossip/broadcast_queue.h"

#include <algorithm>
#include <cmath>
#include <utility>

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
  if (!it->name.empty()) by_name_.insert(&*it);
  return it;
}

void BroadcastQueue::erase(Items::iterator it) {
  if (!it->name.empty()) by_name_.erase(it->name.view());
  items_.erase(it);
}

void BroadcastQueue::finish(uint64_t id) {
  auto it = finished_.find(id);
  if (it == finished_.end()) return;
  Finished done = std::move(it->second);
  finished_.erase(it);
  if (done) done();
}

void BroadcastQueue::queue(Bytes msg, std::string_view name, Finished finished) {
  if (!name.empty()) {
    if (const Item* found = by_name_.find(name)) {
      uint64_t replaced = found->id;
      erase(items_.find(*found));
      finish(replaced);
    }
  }
  uint64_t id = next_id_++;
  if (finished) finished_.emplace(id, std::move(finished));
  insert(
      Item{0, uint32_t(msg.size()), id, Interned(std::span<const uint8_t>(msg)), Interned(name)});
}

std::vector<Bytes> BroadcastQueue::get(size_t overhead, size_t limit) {
  std::vector<Bytes> out;
  if (items_.empty()) return out;
  int transmit_limit = retransmit_limit(retransmit_mult_, num_nodes_());
  size_t used = 0;
  // Sent items leave the set while the tiers are walked (so none is sent twice) and go back
  // with one transmit more: the same node, so the name index keeps pointing at it. Callbacks
  // of finished items run once the queue is whole again (Go runs them under the queue's lock,
  // so none re-enters it).
  std::vector<Items::node_type> resend;
  std::vector<uint64_t> finished;
  uint32_t max_tier = items_.rbegin()->transmits;
  auto it = items_.end();  // the item after the one sent last
  for (uint32_t tier = items_.begin()->transmits; tier <= max_tier;) {
    if (used + overhead >= limit) break;
    size_t free = limit - used - overhead;
    // First item of this tier whose length fits: the set is ordered by length descending. The
    // item after the one just sent is it when it fits (every item before that one in the tier
    // was too long already), so a packet of similar messages costs one search, not one each.
    uint32_t fits = uint32_t(std::min<size_t>(free, UINT32_MAX));
    if (it == items_.end() || it->transmits != tier || it->len > fits)
      it = items_.lower_bound(Item{tier, fits, UINT64_MAX, {}, {}});
    if (it == items_.end() || it->transmits != tier) {
      ++tier;
      it = items_.end();
      continue;
    }
    used += overhead + it->len;
    auto bytes = it->msg.bytes();
    out.emplace_back(bytes.begin(), bytes.end());
    auto sent = std::exchange(it, std::next(it));
    if (int(sent->transmits) + 1 >= transmit_limit) {
      finished.push_back(sent->id);
      erase(sent);
    } else {
      resend.push_back(items_.extract(sent));
      ++resend.back().value().transmits;
    }
  }
  for (auto& node : resend) items_.insert(std::move(node));
  for (uint64_t id : finished) finish(id);
  return out;
}

void BroadcastQueue::prune(size_t max_retain) {
  while (items_.size() > max_retain) {
    auto last = std::prev(items_.end());
    uint64_t id = last->id;
    erase(last);
    finish(id);
  }
}

void BroadcastQueue::clear() {
  auto items = std::move(items_);
  items_.clear();
  by_name_ = {};
  auto finished = std::move(finished_);
  finished_.clear();
  for (auto& item : items)
    if (auto it = finished.find(item.id); it != finished.end() && it->second) it->second();
}

}  // namespace kc::gossip
