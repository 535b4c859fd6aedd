// Which prunes the gate lets through to the reconciler: never a member whose pod is Running and
// Ready, never one gossiping from a live agent pod's address whatever its tags say, never one
// a second agent contradicts; a member whose pod is gone, confirmed by a second agent, goes.
#include "operator/controller/prune_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/metrics/registry.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

struct Gate : Harness {
  std::unique_ptr<AgentPods> pods;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<ClusterNodeMirror> mirror;
  std::unique_ptr<PruneReconciler> prunes;
  std::unique_ptr<PruneGate> gate;

  explicit Gate(World& w) : Harness(w) {
    pods = agent_pods(w);
    membership = membership_of(w, *pods);
    mirror = std::make_unique<ClusterNodeMirror>(w.kube, w.kube.clusternodes, kNs);
    prunes = std::make_unique<PruneReconciler>(io, w.kube, w.agents, &w.rows, *pods, *mirror,
                                               metrics, "test", WorkQueueOptions{}, nullptr);
    prunes->set_active(true);
    gate = std::make_unique<PruneGate>(w.agents, *pods, *membership, *prunes, metrics);
    membership->start();
    run_until([&] { return membership->fresh(); });
  }
  // Asks the gate to prune `m` and waits for its decision: a job, or a refusal counted.
  void request(const Member& m, PruneReason reason = PruneReason::Orphan) {
    int before = refusals();
    gate->request(PruneRequest{m, reason, std::nullopt, std::chrono::steady_clock::now()});
    run_until([&] { return prunes->has(m.name) || refusals() > before; });
  }
  // Refusals counted for this reason (0 before the first: the series appears with it).
  int refused(const std::string& why) const {
    return metric("kong_cluster_operator_prunes_refused_total{reason=\"" + why + "\"}").value_or(0);
  }
  int refusals() const {
    return refused("live_pod") + refused("disagreement") + refused("unconfirmed");
  }
};

}  // namespace

TEST(PruneGate, NeverPrunesTheMemberOfARunningAndReadyPod) {
  World w;
  Gate g(w);
  g.request(g.membership->members().at("agent-c"));
  EXPECT_FALSE(g.prunes->has("agent-c"));
  EXPECT_EQ(g.refused("live_pod"), 1);
  EXPECT_EQ(w.agents.force_leaves.size(), 0u);
}

TEST(PruneGate, NeverPrunesAMemberAtALiveAgentPodsAddressWhateverItsTags) {
  World w;
  // A live agent pod (agent-d) whose member still carries the tags of a pod that is gone: it
  // gossips from agent-d's address, so it is agent-d's agent, still serving.
  w.add_pod("agent-d", "uid-agent-d", "10.0.0.4", "node-a");
  Member m = member("old-name", "10.0.0.4");
  w.agents.add_everywhere(m);
  Gate g(w);
  ASSERT_TRUE(g.membership->find("old-name"));
  g.request(m);
  EXPECT_FALSE(g.prunes->has("old-name"));
  EXPECT_EQ(g.refused("live_pod"), 1);
  // The same member at an address no live pod has is not protected.
  w.delete_pod("agent-d");
  g.request(m);
  EXPECT_TRUE(g.prunes->has("old-name"));
}

TEST(PruneGate, AMemberWhosePodIsGoneGoesOnceASecondAgentAgrees) {
  World w;
  Member ghost = member("ghost", "10.0.0.9");
  w.agents.add_everywhere(ghost);
  Gate g(w);
  g.request(g.membership->members().at("ghost"));
  EXPECT_TRUE(g.prunes->has("ghost"));
  EXPECT_EQ(g.refusals(), 0);
}

TEST(PruneGate, ASecondAgentThatContradictsTheFirstStopsThePrune) {
  World w;
  int i = 0;
  for (auto& [addr, ms] : w.agents.views)
    ms.push_back(member("ghost", "10.0.1." + std::to_string(++i)));  // another address each
  Gate g(w);
  g.request(g.membership->members().at("ghost"));
  EXPECT_FALSE(g.prunes->has("ghost"));
  EXPECT_EQ(g.refused("disagreement"), 1);
}

TEST(PruneGate, NoSecondAgentAnsweringDefersThePrune) {
  World w;
  w.agents.add_everywhere(member("ghost", "10.0.0.9"));
  Gate g(w);
  for (auto& [addr, ms] : w.agents.views)
    if (addr != g.membership->source()) w.agents.down.insert(addr);
  g.request(g.membership->members().at("ghost"));
  EXPECT_FALSE(g.prunes->has("ghost"));
  EXPECT_EQ(g.refused("unconfirmed"), 1);
}
