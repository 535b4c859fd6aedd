// The ClusterNode controller: every member gets its ClusterNode, once however often it is
// queued; a failed create is retried; a ClusterNode whose member left gossip is deleted, but
// not one whose member a prune job owns, and none against a membership not read yet.
#include "operator/controller/clusternode_reconciler.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "common/metrics/registry.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

struct Mirror : Harness {
  std::set<std::string> pruning;
  std::unique_ptr<AgentPods> pods;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<ClusterNodeMirror> mirror;
  std::unique_ptr<ClusterNodeReconciler> cnodes;

  explicit Mirror(World& w) : Harness(w) {
    w.kube.clusternodes.start();
    pods = agent_pods(w);
    membership = membership_of(w, *pods);
    mirror = std::make_unique<ClusterNodeMirror>(w.kube, w.kube.clusternodes, kNs);
    cnodes = std::make_unique<ClusterNodeReconciler>(
        io, *mirror, w.kube.clusternodes, *membership,
        [this](const std::string& m) { return pruning.count(m) > 0; }, fast_queue());
  }
  void read_membership() {
    membership->start();
    run_until([&] { return membership->fresh(); });
  }
  bool settle() {
    return run_until([&] { return cnodes->queue().depth() == 0; });
  }
};

}  // namespace

TEST(ClusterNodeReconciler, EveryMemberGetsItsClusterNodeOnce) {
  World w;
  Mirror m(w);
  m.read_membership();
  for (int i = 0; i < 3; ++i) m.cnodes->sync();
  ASSERT_TRUE(m.settle());
  ASSERT_TRUE(mirrored(w, {"agent-a", "agent-b", "agent-c"}));
  EXPECT_EQ(w.kube.count("POST " + kc::kube::clusternodes_path(kNs)), 3u);
  EXPECT_EQ(w.kube.objects[cn_path("agent-a")]["status"]["status"], "alive");
  // Nothing changed: nothing written.
  size_t calls = w.kube.calls.size();
  m.cnodes->resync();
  ASSERT_TRUE(m.settle());
  EXPECT_EQ(w.kube.calls.size(), calls);
}

TEST(ClusterNodeReconciler, AFailedCreateIsRetried) {
  World w;
  w.kube.failing["POST " + kc::kube::clusternodes_path(kNs)] = 500;
  Mirror m(w);
  m.read_membership();
  m.cnodes->sync();
  ASSERT_TRUE(run_until(m.io, [&] { return m.cnodes->queue().failures("agent-a") >= 2; }));
  w.kube.failing.clear();
  ASSERT_TRUE(run_until(m.io, [&] { return mirrored(w, {"agent-a", "agent-b", "agent-c"}); }));
  ASSERT_TRUE(m.settle());
  EXPECT_EQ(m.cnodes->queue().failing(), 0u);
}

TEST(ClusterNodeReconciler, AClusterNodeWhoseMemberLeftIsDeletedUnlessAPruneOwnsIt) {
  World w;
  add_clusternode(w.kube, "left-gossip");
  add_clusternode(w.kube, "being-pruned");
  Mirror m(w);
  // Before the membership is read, nothing is known to be gone.
  m.cnodes->resync();
  ASSERT_TRUE(m.settle());
  EXPECT_TRUE(w.kube.objects.count(cn_path("left-gossip")));
  m.read_membership();
  m.pruning.insert("being-pruned");
  m.cnodes->resync();
  ASSERT_TRUE(m.settle());
  EXPECT_FALSE(w.kube.objects.count(cn_path("left-gossip")));
  EXPECT_EQ(w.kube.deleted[cn_path("left-gossip")], 1);
  EXPECT_TRUE(w.kube.objects.count(cn_path("being-pruned")));
  EXPECT_TRUE(mirrored(w, {"agent-a", "agent-b", "agent-c"}));
}
