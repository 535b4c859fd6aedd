// N memberlist members on the simulated network and virtual clock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/gossip/memberlist.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "common/logging.h"

namespace kc::test {

using namespace kc::gossip;

class SimCluster {
 public:
  SimCluster(size_t n, uint64_t seed, Config base = Config::lan())
      : net_(clock_, seed), base_(base), seed_(seed) {
    kc::log::set_level("warn");  // thousands of simulated members would drown the output
    for (size_t i = 0; i < n; ++i) add();
  }

  static Address address_of(size_t i) {
    return Address{{10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}, 7946};
  }

  size_t add() {
    size_t i = members_.size();
    members_.emplace_back();
    start(i);
    return i;
  }

  void start(size_t i) {
    auto& m = members_[i];
    Config c = base_;
    c.name = "node-" + std::to_string(i);
    c.advertise = address_of(i);
    c.seed = seed_ * 1000003 + i + 1 + restarts_++ * 7919;
    m.transport = net_.bind(c.advertise);
    m.list = std::make_unique<Memberlist>(c, clock_, *m.transport, Delegates{});
    m.list->start();
  }

  // Stops a member without a leave, as kill -9 would.
  void crash(size_t i) {
    members_[i].list.reset();
    members_[i].transport.reset();
  }

  Memberlist& at(size_t i) { return *members_[i].list; }
  bool running(size_t i) const { return members_[i].list != nullptr; }
  size_t size() const { return members_.size(); }

  // Everyone running joins member 0 (the seed), a few at a time as real deployments do.
  void join_all_to(size_t seed) {
    for (size_t i = 0; i < members_.size(); ++i)
      if (i != seed && running(i)) at(i).join({address_of(seed).to_string()}, [](int, std::string) {});
  }

  // How member `viewer` sees `name` (nullopt if unknown).
  std::optional<NodeState> state_in(size_t viewer, const std::string& name) {
    auto* n = at(viewer).find(name);
    if (!n) return std::nullopt;
    return n->state;
  }

  bool all_see_all_alive() {
    for (size_t v = 0; v < size(); ++v) {
      if (!running(v)) continue;
      if (at(v).count(NodeState::Alive) != running_count()) return false;
    }
    return true;
  }

  size_t running_count() const {
    size_t n = 0;
    for (size_t i = 0; i < members_.size(); ++i) n += running(i);
    return n;
  }

  sim::SimClock& clock() { return clock_; }
  sim::SimNetwork& net() { return net_; }

 private:
  struct Member {
    std::unique_ptr<Transport> transport;
    std::unique_ptr<Memberlist> list;
  };
  sim::SimClock clock_;
  sim::SimNetwork net_;
  Config base_;
  uint64_t seed_;
  uint64_t restarts_ = 0;
  std::vector<Member> members_;
};

}  // namespace kc::test
