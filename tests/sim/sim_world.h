// What every simulated cluster in tests/sim shares: a virtual clock, a seeded network, and
// a list of members that can be added, crashed (no leave, as kill -9) and restarted with a
// fresh seed. `Member` must have a `transport` and a `node` (the member object proper, a
// std::unique_ptr); `Derived::start(i)` builds member i.
#pragma once

#include <cstdint>
#include <deque>

#include "agent/gossip/sim/sim_runtime.h"
#include "common/logging.h"

namespace kc::test {

template <typename Derived, typename Member>
class SimWorld {
 public:
  explicit SimWorld(uint64_t seed) : net_(clock_, seed), seed_(seed) {
    kc::log::set_level("warn");  // thousands of simulated members would drown the output
  }

  size_t add() {
    size_t i = members_.size();
    members_.emplace_back();
    static_cast<Derived*>(this)->start(i);
    return i;
  }

  // Stops a member without a leave, as kill -9 would.
  void crash(size_t i) {
    members_[i].node.reset();
    members_[i].transport.reset();
  }

  bool running(size_t i) const { return members_[i].node != nullptr; }
  size_t size() const { return members_.size(); }
  size_t running_count() const {
    size_t n = 0;
    for (size_t i = 0; i < size(); ++i) n += running(i);
    return n;
  }

  kc::gossip::sim::SimClock& clock() { return clock_; }
  kc::gossip::sim::SimNetwork& net() { return net_; }

 protected:
  // Distinct per member and per restart, reproducible from the cluster's seed.
  uint64_t next_member_seed(size_t i) { return seed_ * 1000003 + i + 1 + restarts_++ * 7919; }

  kc::gossip::sim::SimClock clock_;
  kc::gossip::sim::SimNetwork net_;
  std::deque<Member> members_;  // stable addresses: callbacks may point into a member

 private:
  uint64_t seed_;
  uint64_t restarts_ = 0;
};

}  // namespace kc::test
