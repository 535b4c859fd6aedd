// N memberlist members on the simulated network and virtual clock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/gossip/memberlist.h"
#include "sim/sim_world.h"

namespace kc::test {

using namespace kc::gossip;

struct SimMember {
  std::unique_ptr<Transport> transport;
  std::unique_ptr<Memberlist> node;
};

class SimCluster : public SimWorld<SimCluster, SimMember> {
 public:
  SimCluster(size_t n, uint64_t seed, Config base = Config::lan()) : SimWorld(seed), base_(base) {
    for (size_t i = 0; i < n; ++i) add();
  }

  static Address address_of(size_t i) {
    return Address{{10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}, 7946};
  }

  void start(size_t i) {
    auto& m = members_[i];
    Config c = base_;
    c.name = "node-" + std::to_string(i);
    c.advertise = address_of(i);
    c.seed = next_member_seed(i);
    m.transport = net_.bind(c.advertise);
    m.node = std::make_unique<Memberlist>(c, clock_, *m.transport, Delegates{});
    m.node->start();
  }

  Memberlist& at(size_t i) { return *members_[i].node; }

  // Everyone running joins member 0 (the seed), a few at a time as real deployments do.
  void join_all_to(size_t seed) {
    for (size_t i = 0; i < members_.size(); ++i)
      if (i != seed && running(i))
        at(i).join({address_of(seed).to_string()}, [](int, std::string) {});
  }

  // How member `viewer` sees `name` (nullopt if unknown).
  std::optional<NodeState> state_in(size_t viewer, const std::string& name) {
    return at(viewer).state_of(name);
  }

  // O(members): each member keeps its count per state, and the running count is asked once
  // (checked every virtual second, this is the harness's own cost at thousands of members).
  bool all_see_all_alive() {
    size_t expected = running_count();
    for (size_t v = 0; v < size(); ++v) {
      if (!running(v)) continue;
      if (at(v).count(NodeState::Alive) != expected) return false;
    }
    return true;
  }

 private:
  Config base_;
};

}  // namespace kc::test
