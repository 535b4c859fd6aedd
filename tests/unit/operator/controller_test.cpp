// The controller's prune rules against in-memory fakes of the API server, the agents and the
// `nodes` table (fake_world.h): a deleted pod's member, row and ClusterNode go, each once; a
// Running and Ready pod's member is never pruned; an orphan is pruned only once a fresh GET
// confirms its pod is gone; a second agent that contradicts the first stops a prune; a
// controller restarted after a crash at any step converges without deleting anything twice;
// another Kubernetes cluster's members are left alone.
#include "operator/controller/controller.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "common/metrics/registry.h"
#include "kube/resources.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;
using Clock = std::chrono::steady_clock;

namespace {

ControllerOptions options(const std::string& cluster = "", bool adopt = true) {
  ControllerOptions o = fast_options();
  o.scope.id = cluster;
  o.scope.adopt_untagged = adopt;
  return o;
}

using Life = ControllerLife;

}  // namespace

TEST(ControllerPrune, DeletedPodsMemberRowAndClusterNodeGoEachOnce) {
  World w;
  Life run(w, options());
  ASSERT_TRUE(run.run_until([&] { return mirrored(w, {"agent-a", "agent-b", "agent-c"}); }));
  w.delete_pod("agent-c");
  ASSERT_TRUE(run.run_until([&] { return w.pruned("agent-c") && w.kube.events.size() == 1; }));
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  EXPECT_EQ(w.kube.events[0]["reason"], "MemberPruned");
  // Told through the agents that remain, never through the deleted pod's own.
  EXPECT_GE(w.agents.force_leaves_of("agent-c"), 1u);
  for (auto& f : w.agents.force_leaves) EXPECT_NE(f.rfind(rpc("10.0.0.3"), 0), 0u) << f;
  EXPECT_TRUE(w.listed("agent-a"));
  EXPECT_TRUE(w.rows.rows.count("agent-b"));
  EXPECT_TRUE(mirrored(w, {"agent-a", "agent-b"}));
}

TEST(ControllerPrune, NeverPrunesTheMemberOfARunningAndReadyPod) {
  World w;
  // A member known by pod name only: the pod deleted and re-created under the same name is
  // Running and Ready again before the prune is confirmed.
  Member m = member("agent-c", "10.0.0.3");
  m.tags.erase("uid");
  for (auto& [addr, ms] : w.agents.views)
    for (auto& x : ms)
      if (x.name == "agent-c") x = m;
  Life run(w, options());
  ASSERT_TRUE(run.run_until([&] { return mirrored(w, {"agent-a", "agent-b", "agent-c"}); }));
  w.delete_pod("agent-c");
  w.add_pod("agent-c", "uid-agent-c-2", "10.0.0.3", "node-c");
  w.kube.pods.put(kNs + "/agent-c", w.kube.pods.contents()[kNs + "/agent-c"]);
  ASSERT_TRUE(run.run_until([&] {
    return run.metric_is("kong_cluster_operator_prunes_refused_total{reason=\"live_pod\"}", 1);
  }));
  EXPECT_EQ(w.agents.force_leaves_of("agent-c"), 0u);
  EXPECT_TRUE(w.listed("agent-c"));
  EXPECT_TRUE(w.rows.rows.count("agent-c"));
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 0);
}

TEST(ControllerPrune, OrphanIsPrunedOnlyAfterAFreshGetConfirmsItsPodIsGone) {
  World w;
  // The member's pod is missing from the cache (a watch that lags), but the server has it.
  w.add_member(member("ghost", "10.0.0.9"));
  w.kube.objects[kc::kube::pod_path(kNs, "ghost")] =
      pod_json("ghost", "uid-ghost", "10.0.0.9", "node-a");
  Life run(w, options());
  std::string get = "GET " + kc::kube::pod_path(kNs, "ghost");
  ASSERT_TRUE(run.run_until([&] { return w.kube.count(get) >= 3; }));
  EXPECT_EQ(w.agents.force_leaves_of("ghost"), 0u);
  EXPECT_TRUE(w.rows.rows.count("ghost"));
  // A pod of that name but another uid is another pod: the member's is gone.
  w.kube.objects[kc::kube::pod_path(kNs, "ghost")] =
      pod_json("ghost", "uid-other", "10.0.0.9", "node-a");
  ASSERT_TRUE(run.run_until([&] { return w.pruned("ghost"); }));
  EXPECT_EQ(w.rows.deleted["ghost"], 1);
}

TEST(ControllerPrune, ASecondAgentThatContradictsTheFirstStopsThePrune) {
  World w;
  int i = 0;
  for (auto& [addr, ms] : w.agents.views) {
    auto m = member("ghost", "10.0.1." + std::to_string(++i));  // a different address each
    ms.push_back(m);
  }
  Life run(w, options());
  ASSERT_TRUE(run.run_until([&] {
    return run.metric_is("kong_cluster_operator_prunes_refused_total{reason=\"disagreement\"}",
                         1) ||
           w.agents.force_leaves_of("ghost") > 0;
  }));
  EXPECT_EQ(w.agents.force_leaves_of("ghost"), 0u);
  EXPECT_TRUE(w.listed("ghost"));
}

// A crash after step k of a prune (0: the pod event seen, nothing done; 1: force-left; 2: and
// the ClusterNode deleted; 3: everything done), then a new controller over the same world.
class ControllerCrash : public ::testing::TestWithParam<int> {};

TEST_P(ControllerCrash, RestartConvergesAndDeletesNothingTwice) {
  const int k = GetParam();
  World w;
  {
    Life first(w, options());
    ASSERT_TRUE(first.run_until([&] { return mirrored(w, {"agent-a", "agent-b", "agent-c"}); }));
    if (k < 3) w.rows.failing = true;
    if (k < 2) w.kube.failing["DELETE " + cn_path("agent-c")] = 500;
    w.delete_pod("agent-c");
    if (k >= 1) {
      ASSERT_TRUE(first.run_until([&] { return !w.listed("agent-c"); }));
    }
    if (k >= 2) {
      ASSERT_TRUE(first.run_until([&] { return !w.kube.objects.count(cn_path("agent-c")); }));
    }
    if (k >= 3) {
      ASSERT_TRUE(first.run_until([&] { return w.pruned("agent-c"); }));
    }
  }  // crash: whatever was in flight never completes
  w.rows.failing = false;
  w.kube.failing.clear();
  size_t force_leaves_before = w.agents.force_leaves_of("agent-c");
  Life second(w, options());
  ASSERT_TRUE(second.run_until([&] { return w.pruned("agent-c"); }))
      << "listed " << w.listed("agent-c") << ", row " << w.rows.rows.count("agent-c")
      << ", ClusterNode " << w.kube.objects.count(cn_path("agent-c"));
  // Let the restarted controller run a few resyncs more: nothing else may go.
  auto reconciles = [&] {
    auto text = second.registry.text();
    return text.find(
               "controller_runtime_reconcile_total{controller=\"clusternode\",result="
               "\"success\"} 3\n") != std::string::npos;
  };
  ASSERT_TRUE(second.run_until(reconciles));
  EXPECT_EQ(w.kube.deleted[cn_path("agent-c")], 1);
  EXPECT_EQ(w.rows.deleted["agent-c"], 1);
  if (k >= 1) {
    EXPECT_EQ(w.agents.force_leaves_of("agent-c"), force_leaves_before);
  }
  EXPECT_TRUE(mirrored(w, {"agent-a", "agent-b"}));
  EXPECT_TRUE(w.rows.rows.count("agent-a") && w.rows.rows.count("agent-b"));
  EXPECT_TRUE(w.listed("agent-a") && w.listed("agent-b"));
}

INSTANTIATE_TEST_SUITE_P(AfterStep, ControllerCrash, ::testing::Values(0, 1, 2, 3));

TEST(ControllerScope, AnotherClustersMembersAreLeftAlone) {
  World w("east");
  w.add_member(member("west-1", "10.1.0.1", "west"));  // its pod is in the other cluster
  w.add_member(member("east-ghost", "10.0.0.8", "east"));
  kc::datastore::NodeRow stale;
  stale.name = "stale";
  stale.created_at = std::chrono::system_clock::now() - std::chrono::hours(1);
  w.rows.rows["stale"] = stale;  // a row with no member: proof that rows were reconciled
  Life run(w, options("east", false));
  ASSERT_TRUE(run.run_until([&] { return w.pruned("east-ghost") && !w.rows.rows.count("stale"); }));
  EXPECT_TRUE(mirrored(w, {"agent-a", "agent-b", "agent-c"}));
  EXPECT_TRUE(w.listed("west-1"));
  EXPECT_EQ(w.agents.force_leaves_of("west-1"), 0u);
  EXPECT_TRUE(w.rows.rows.count("west-1"));
  EXPECT_EQ(w.kube.count("GET " + kc::kube::pod_path(kNs, "west-1")), 0u);
  EXPECT_FALSE(w.kube.objects.count(cn_path("west-1")));
  EXPECT_TRUE(run.metric_is("kong_cluster_operator_foreign_members", 1));
}

TEST(ControllerScope, UntaggedMembersAreAdoptedOnlyWhenAsked) {
  World w;  // agents from before the tag: none carries it
  w.add_member(member("old-ghost", "10.0.0.8"));
  {
    Life run(w, options("east", false));
    ASSERT_TRUE(
        run.run_until([&] { return run.metric_is("kong_cluster_operator_foreign_members", 4); }));
    EXPECT_FALSE(mirrored(w, {"agent-a"}));
    EXPECT_EQ(w.kube.count("GET " + kc::kube::pod_path(kNs, "old-ghost")), 0u);
  }
  Life run(w, options("east", true));
  ASSERT_TRUE(run.run_until([&] { return w.pruned("old-ghost"); }));
  EXPECT_TRUE(mirrored(w, {"agent-a", "agent-b", "agent-c"}));
}
