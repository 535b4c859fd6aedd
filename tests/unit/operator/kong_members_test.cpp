// Kong mode (docs/kong-serf.md): Kong 0.10 starts kong-cluster as its serf with `-node
// '<hostname>_<cluster_listen>_<32 hex>'` (its serf.id) and inserts, refreshes and deletes its
// own `nodes` row under that name, with the address `serf members` reports. The operator must
// take that member and that row as any other: mapped to the pod by the member's pod tags
// (never by its name), its ClusterNode named from the member name, nothing pruned while the pod
// runs, and member, row and ClusterNode pruned once the pod is gone.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/metrics/registry.h"
#include "operator/controller/controller.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

// A Kong pod of the agent DaemonSet: its hostname is the pod name, Kong's cluster_listen the
// chart's 0.0.0.0:7946, the suffix Kong's utils.random_string() (a uuid without dashes).
const std::string kKongPod = "kong-cluster-agent-x7k2p";
const std::string kKongIp = "10.0.0.4";
const std::string kKongName = kKongPod + "_0.0.0.0:7946_5f0c3a9e1d2b4c6a8e7f9a0b1c2d3e4f";

// The world of test_cluster.h plus the Kong pod: its member as the agent's Kong mode gossips
// it (the downward-API tags under Kong's name, the pod IP advertised), its RPC reachable as
// every agent's, and the row Kong inserted for it (`nodes.name` = serf.id, the address from
// `serf members`).
void add_kong_pod(World& w) {
  w.kube.nodes.contents()["node-d"] = node_json("node-d");
  w.add_pod(kKongPod, "uid-" + kKongPod, kKongIp, "node-d");
  w.agents.views[rpc(kKongIp)] = w.agents.views.begin()->second;
  Member m;
  m.name = kKongName;
  m.address = kKongIp + ":7946";
  m.status = "alive";
  m.tags = {{"pod", kKongPod}, {"namespace", kNs}, {"uid", "uid-" + kKongPod}, {"node", "node-d"}};
  w.add_member(m);
}

struct Life : ControllerLife {
  explicit Life(World& w) : ControllerLife(w, fast_options()) {}
  // At least `n` full reconcile passes done (each one counted once the `nodes` rows were listed
  // and judged: a member's row, or a ghost queued for deletion).
  bool reconciled(int n) const {
    return metric(
               "controller_runtime_reconcile_total{controller=\"clusternode\",result="
               "\"success\"}") >= n;
  }
};

std::string kong_cn_path() {
  return cn_path(clusternode_name(kKongName));
}

}  // namespace

TEST(KongMembers, KongsNodeNameGivesAValidClusterNodeName) {
  EXPECT_EQ(clusternode_name(kKongName),
            "kong-cluster-agent-x7k2p-0.0.0.0-7946-5f0c3a9e1d2b4c6a8e7f9a0b1c2d3e4f");
  // An IPv6 cluster_listen, and a hostname Kong's hosts may have in upper case.
  EXPECT_EQ(clusternode_name("Kong-1_[::]:7946_0123456789abcdef0123456789abcdef"),
            "kong-1------7946-0123456789abcdef0123456789abcdef");
}

TEST(KongMembers, KongsMemberAndRowAreMappedToItsPodAndKeptWhileItRuns) {
  World w;
  add_kong_pod(w);
  Life run(w);
  ASSERT_TRUE(run.run_until([&] { return w.kube.objects.count(kong_cn_path()) > 0; }));
  // Mapped to its pod: the ClusterNode shows the pod, its Node and the member's address.
  ASSERT_TRUE(run.run_until([&] {
    return w.kube.objects[kong_cn_path()].value("status", nlohmann::json()).is_object();
  }));
  auto status = w.kube.objects[kong_cn_path()]["status"];
  EXPECT_EQ(status["memberName"], kKongName);
  EXPECT_EQ(status["pod"], kKongPod);
  EXPECT_EQ(status["node"], "node-d");
  EXPECT_EQ(status["address"], kKongIp + ":7946");
  EXPECT_EQ(status["status"], "alive");
  // Reconcile passes, each listing the rows: Kong's row is a member's row, not a ghost.
  ASSERT_TRUE(run.run_until([&] { return run.reconciled(5); }));
  EXPECT_TRUE(w.rows.rows.count(kKongName));
  EXPECT_EQ(w.rows.deleted[kKongName], 0);
  EXPECT_EQ(w.agents.force_leaves_of(kKongName), 0u);
  EXPECT_TRUE(w.listed(kKongName));
  EXPECT_EQ(w.kube.deleted[kong_cn_path()], 0);
  // No pod GET for it either: the pod in the cache is its pod (an orphan would be checked).
  EXPECT_EQ(w.kube.count("GET " + kc::kube::pod_path(kNs, kKongPod)), 0u);
}

TEST(KongMembers, KongsMemberRowAndClusterNodeArePrunedOnceItsPodIsGone) {
  World w;
  add_kong_pod(w);
  Life run(w);
  ASSERT_TRUE(run.run_until([&] { return w.kube.objects.count(kong_cn_path()) > 0; }));
  w.delete_pod(kKongPod);
  ASSERT_TRUE(run.run_until([&] {
    return !w.listed(kKongName) && !w.rows.rows.count(kKongName) &&
           !w.kube.objects.count(kong_cn_path()) && w.kube.events.size() == 1;
  }));
  EXPECT_GE(w.agents.force_leaves_of(kKongName), 1u);
  // Through the agents that remain, never through the deleted pod's own RPC.
  for (auto& f : w.agents.force_leaves) EXPECT_NE(f.rfind(rpc(kKongIp), 0), 0u) << f;
  EXPECT_EQ(w.rows.deleted[kKongName], 1);
  EXPECT_EQ(w.kube.deleted[kong_cn_path()], 1);
  EXPECT_EQ(w.kube.events[0]["reason"], "MemberPruned");
  EXPECT_EQ(w.kube.events[0]["involvedObject"]["name"], kKongPod);
  // The other members keep theirs.
  for (std::string n : {"agent-a", "agent-b", "agent-c"}) {
    EXPECT_TRUE(w.listed(n)) << n;
    EXPECT_TRUE(w.rows.rows.count(n)) << n;
  }
}

// A Kong pod re-created (new pod, new prefix, new serf.id) leaves the old pod's row behind when
// the old Kong could not run `kong stop`; the row names no member, so it is a ghost row.
TEST(KongMembers, ARowKongLeftBehindWithNoMemberIsDeleted) {
  World w;
  add_kong_pod(w);
  const std::string stale = kKongPod + "_0.0.0.0:7946_00000000000000000000000000000000";
  kc::datastore::NodeRow row;
  row.name = stale;
  row.address = kKongIp + ":7946";
  row.created_at = std::chrono::system_clock::now() - std::chrono::hours(1);
  w.rows.rows[stale] = row;
  Life run(w);
  ASSERT_TRUE(run.run_until([&] { return !w.rows.rows.count(stale); }));
  ASSERT_TRUE(run.run_until([&] { return run.reconciled(5); }));
  EXPECT_EQ(w.rows.deleted[stale], 1);
  EXPECT_TRUE(w.rows.rows.count(kKongName));
  EXPECT_TRUE(w.listed(kKongName));
}
