// The prune state machine on its own (no polling, no resync), against the fakes: each piece of
// a member (its place in every agent's view, its `nodes` row, its ClusterNode) goes once, a
// failed step is retried after the member's backoff, and a reconciler started again after a
// crash at any step finishes the job without deleting anything twice.
#include "operator/controller/prune_reconciler.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics/registry.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

// One life of a reconciler over `w`: its own io_context, so destroying it (a crash) drops every
// answer still in flight to it.
struct Life : Harness {
  std::unique_ptr<AgentPods> pods;
  std::unique_ptr<ClusterNodeMirror> mirror;
  std::unique_ptr<PruneReconciler> prunes;
  std::vector<std::string> pruned;

  explicit Life(World& w) : Harness(w) {
    w.kube.clusternodes.start();
    pods = agent_pods(w);
    mirror = std::make_unique<ClusterNodeMirror>(w.kube, w.kube.clusternodes, kNs);
    prunes = std::make_unique<PruneReconciler>(
        io, w.kube, w.agents, &w.rows, *pods, *mirror, metrics, "test", fast_queue(),
        [this](const Member& m) { pruned.push_back(m.name); });
    prunes->set_active(true);
  }
  // The prune of agent-c, whose pod was deleted.
  void prune_c(World& w) {
    PruneRequest r;
    r.member = member("agent-c", "10.0.0.3");
    r.reason = PruneReason::PodDeleted;
    auto& pods = w.kube.pods.contents();
    if (auto it = pods.find(kNs + "/agent-c"); it != pods.end())
      r.pod = kc::kube::pod_view(it->second);
    r.seen = std::chrono::steady_clock::now();
    w.delete_pod("agent-c");
    prunes->add(r);
  }
  // The job done and its Event recorded (answered by the fake server).
  bool finished(const World& w, size_t events = 1) const {
    return pruned.size() == 1 && prunes->size() == 0 && w.kube.events.size() == events;
  }
};

// The life after a crash takes agent-c's prune up again and finishes it: each piece deleted once
// over both lives, one Event.
void next_life_finishes(World& w) {
  Life second(w);
  second.prune_c(w);
  ASSERT_TRUE(second.run_until([&] { return second.finished(w); }));
  EXPECT_TRUE(w.pruned("agent-c"));
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
  EXPECT_EQ(w.kube.events.size(), 1u);
}

}  // namespace

TEST(PruneReconciler, EachPieceGoesOnceAndAnEventIsRecorded) {
  World w;
  add_clusternode(w.kube, "agent-c");
  Life life(w);
  life.prune_c(w);
  EXPECT_TRUE(life.prunes->has("agent-c"));
  ASSERT_TRUE(life.run_until([&] { return life.finished(w); }));
  EXPECT_TRUE(w.pruned("agent-c"));
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
  ASSERT_EQ(w.kube.events.size(), 1u);
  EXPECT_EQ(w.kube.events[0]["reason"], "MemberPruned");
  // Told through the agents that remain, never through the deleted pod's own.
  EXPECT_EQ(w.agents.force_leaves_of("agent-c"), 2u);
  for (auto& f : w.agents.force_leaves) EXPECT_NE(f.rfind(rpc("10.0.0.3"), 0), 0u) << f;
  EXPECT_TRUE(w.listed("agent-a") && w.listed("agent-b"));
  EXPECT_TRUE(w.rows.rows.count("agent-a") && w.rows.rows.count("agent-b"));
  EXPECT_TRUE(life.metric_is("kong_cluster_operator_prunes_total{reason=\"pod_deleted\"}", 1));
  // Asked again once done: a new job, whose steps find nothing left to delete.
  life.pruned.clear();
  life.prune_c(w);
  ASSERT_TRUE(life.run_until([&] { return life.finished(w, 2); }));
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
}

TEST(PruneReconciler, AFailedStepIsRetriedUntilItSucceedsAndTheOthersAreNotRepeated) {
  World w;
  add_clusternode(w.kube, "agent-c");
  w.rows.failing = true;  // Postgres down
  Life life(w);
  life.prune_c(w);
  ASSERT_TRUE(life.run_until(
      [&] { return life.metric_is("kong_cluster_operator_prune_errors_total{step=\"row\"}", 3); }));
  EXPECT_TRUE(life.prunes->has("agent-c"));
  EXPECT_FALSE(w.listed("agent-c"));
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
  size_t force_leaves = w.agents.force_leaves.size();
  w.rows.failing = false;
  ASSERT_TRUE(life.run_until([&] { return life.finished(w); }));
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  EXPECT_EQ(w.kube.count("DELETE " + cn_path("agent-c")), 1u);
  EXPECT_EQ(w.agents.force_leaves.size(), force_leaves);
  EXPECT_EQ(w.kube.events.size(), 1u);
}

// A crash after force-leave, before the row was deleted: the member is in no agent's view, its
// row and ClusterNode remain. The next controller's job deletes each once.
TEST(PruneReconciler, AfterACrashBetweenForceLeaveAndTheRowTheNextLifeFinishes) {
  World w;
  add_clusternode(w.kube, "agent-c");
  w.rows.failing = true;
  w.kube.failing["DELETE " + cn_path("agent-c")] = 500;
  {
    Life first(w);
    first.prune_c(w);
    ASSERT_TRUE(first.run_until([&] { return !w.listed("agent-c"); }));
  }  // crash
  w.rows.failing = false;
  w.kube.failing.clear();
  ASSERT_TRUE(w.rows.rows.count("agent-c") && w.kube.objects.count(cn_path("agent-c")));
  next_life_finishes(w);
}

// A crash after the row was deleted, before the ClusterNode was: a row already gone counts as
// deleted (not deleted again), the ClusterNode goes once.
TEST(PruneReconciler, AfterACrashBetweenTheRowAndTheClusterNodeTheNextLifeFinishes) {
  World w;
  add_clusternode(w.kube, "agent-c");
  w.kube.failing["DELETE " + cn_path("agent-c")] = 500;
  {
    Life first(w);
    first.prune_c(w);
    ASSERT_TRUE(first.run_until([&] { return !w.rows.rows.count("agent-c"); }));
  }  // crash
  w.kube.failing.clear();
  next_life_finishes(w);
}

// Inactive (leadership lost): a queued job does nothing, and nothing new is taken.
TEST(PruneReconciler, InactiveItActsOnNothing) {
  World w;
  add_clusternode(w.kube, "agent-c");
  Life life(w);
  life.prunes->set_active(false);
  life.prune_c(w);
  EXPECT_FALSE(life.prunes->has("agent-c"));
  life.io.restart();
  life.io.poll();
  EXPECT_TRUE(w.listed("agent-c"));
  EXPECT_EQ(w.agents.force_leaves.size(), 0u);
  EXPECT_TRUE(w.rows.rows.count("agent-c"));
}
