// Deleting an agent pod prunes its member from every agent,
// deletes its nodes row and its ClusterNode (latency measured and printed); Failed pods and
// NotReady nodes are cleaned up; a Running and Ready pod whose agent is cut off is not
// pruned; `kubectl get clusternodes` shows every member.
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

class OperatorPruning : public ClusterTest {
 protected:
  void start_agents(int n, const std::string& node = "worker-1") {
    for (int i = 0; i < n; ++i) cluster_->add_agent("agent-" + std::to_string(++count_), node);
  }
  void start_operators() {
    port_a_ = free_port();
    port_b_ = free_port();
    op_a_ = cluster_->start_operator("op-a", port_a_);
    op_b_ = cluster_->start_operator("op-b", port_b_);
  }
  int leader_port() { return cluster_->lease_holder() == "op-a" ? port_a_ : port_b_; }

  int port_a_ = 0, port_b_ = 0;
  int count_ = 0;
};

}  // namespace

TEST_F(OperatorPruning, DeletedPodsArePrunedWithinASecond) {
  start_agents(6);
  ASSERT_TRUE(wait_until([&] { return cluster_->converged(6); }, 30s)) << "agents did not converge";
  ASSERT_TRUE(wait_until([&] { return cluster_->row_count() == 6; }, 20s));
  start_operators();
  ASSERT_TRUE(wait_until([&] { return !cluster_->lease_holder().empty(); }, 20s));
  // Every member is a ClusterNode, shown by real kubectl with its columns.
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i = 1; i <= 6; ++i)
          if (cluster_->clusternode_status("agent-" + std::to_string(i)) != "alive") return false;
        return true;
      },
      20s));
  auto table =
      cluster_->kube().kubectl({"get", "clusternodes", "-n", cluster_->ns(), "-o", "wide"});
  std::printf("kubectl get clusternodes -o wide:\n%s\n", table.output.c_str());
  EXPECT_NE(table.output.find("ADDRESS"), std::string::npos);
  EXPECT_NE(table.output.find("agent-6"), std::string::npos);
  EXPECT_NE(table.output.find("worker-1"), std::string::npos);

  // An agent that died without leaving (kill -9, member failed), then its pod is
  // deleted: the member, the row and the ClusterNode go. Latency from the delete call until
  // every agent has dropped the member, the row is gone and the ClusterNode is gone.
  std::vector<double> latencies;
  for (int i = 4; i <= 6; ++i) {
    std::string name = "agent-" + std::to_string(i);
    crash_agent(name);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(wait_until([&] { return cluster_->clusternode_status(name) == "failed"; }, 10s));
    if (i == 4) {
      // The table follows state changes.
      auto t = cluster_->kube().kubectl({"get", "cnode", "-n", cluster_->ns()});
      std::printf("kubectl get cnode after %s died:\n%s\n", name.c_str(), t.output.c_str());
      EXPECT_NE(t.output.find("failed"), std::string::npos);
    }
    auto t0 = std::chrono::steady_clock::now();
    cluster_->delete_pod(name);
    ASSERT_TRUE(wait_until([&] { return cluster_->fully_pruned(name); }, 15s, 10ms))
        << name << " not pruned";
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    latencies.push_back(ms);
    std::printf(
        "prune %s: member gone from every agent, row and ClusterNode deleted %.0f ms "
        "after the pod was deleted (as observed by polling)\n",
        name.c_str(), ms);
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("prune latency (test-observed, includes polling): max %.0f ms over %zu deletions\n",
              latencies.back(), latencies.size());
  int port = leader_port();
  // The operator records a prune once it has seen the member gone from every agent's view and
  // the row and ClusterNode deleted, which can be a moment after the test saw it.
  EXPECT_TRUE(wait_until(
      [&] { return scrape(port, "kong_cluster_operator_prune_latency_seconds_count") == 3; }, 5s));
  double sum = scrape(port, "kong_cluster_operator_prune_latency_seconds_sum");
  double count = scrape(port, "kong_cluster_operator_prune_latency_seconds_count");
  double under_1s = scrape(port, "kong_cluster_operator_prune_latency_seconds_bucket{le=\"1\"}");
  std::printf("operator histogram: %.0f prunes, mean %.1f ms, %.0f within 1 s\n", count,
              count > 0 ? sum / count * 1000 : 0.0, under_1s);
  EXPECT_EQ(count, 3);
  // The goal is one second; the bounds asserted here are looser so that a loaded CI machine
  // (ctest -j) does not make the test flaky. The numbers above are the measurement.
  EXPECT_EQ(scrape(port, "kong_cluster_operator_prune_latency_seconds_bucket{le=\"5\"}"), 3);
  EXPECT_LT(latencies.back(), 3000);
  // A normal deletion, as the kubelet runs it: the pod is marked for deletion, the agent gets
  // SIGTERM (it leaves and deletes its own row), and once the container has exited the pod
  // object goes; the operator then reaps the left member everywhere.
  {
    auto& a = cluster_->agent("agent-3");
    auto t0 = std::chrono::steady_clock::now();
    cluster_->delete_pod("agent-3", 30);
    a.proc->signal(SIGTERM);
    EXPECT_EQ(a.proc->wait_exit(15000), 0);
    auto t_exit = std::chrono::steady_clock::now();
    cluster_->delete_pod("agent-3");
    ASSERT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-3"); }, 20s, 20ms));
    auto done = std::chrono::steady_clock::now();
    std::printf(
        "graceful pod deletion: the agent's own leave took %.0f ms; once the pod was "
        "removed, the member was reaped everywhere and its ClusterNode gone in %.0f ms\n",
        std::chrono::duration<double, std::milli>(t_exit - t0).count(),
        std::chrono::duration<double, std::milli>(done - t_exit).count());
  }
  // Events were recorded for the pruned pods.
  auto events = cluster_->kube().kubectl({"get", "events", "-n", cluster_->ns()});
  EXPECT_NE(events.output.find("MemberPruned"), std::string::npos) << events.output;
}

TEST_F(OperatorPruning, FailedPodsAndNotReadyNodesButNeverARunningReadyPod) {
  start_agents(3);              // agent-1..3 on worker-1
  start_agents(1, "worker-2");  // agent-4 on worker-2
  ASSERT_TRUE(wait_until([&] { return cluster_->converged(4); }, 30s));
  start_operators();
  ASSERT_TRUE(wait_until([&] { return cluster_->clusternode_status("agent-4") == "alive"; }, 20s));

  // A Running and Ready pod whose agent is cut off: failed in gossip, never pruned.
  cluster_->agent("agent-3").proc->kill9();
  ASSERT_TRUE(wait_until([&] { return cluster_->clusternode_status("agent-3") == "failed"; }, 30s));
  // Several member polls and a resync (5 s) go by; the member must stay (a bounded watch
  // for something that must not happen).
  EXPECT_FALSE(wait_until([&] { return !cluster_->has_row("agent-3"); }, 7s, 200ms))
      << "the member of a Running, Ready pod was pruned";
  EXPECT_EQ(members_of(cluster_->agent("agent-1").rpc_addr())->count("agent-3"), 1u);

  // The pod goes Failed: pruned.
  cluster_->fail_pod("agent-3");
  EXPECT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-3"); }, 10s))
      << "Failed pod not cleaned up";

  // agent-4's node goes NotReady and its agent dies: pruned once --failed-grace (3 s) passed.
  cluster_->agent("agent-4").proc->kill9();
  auto t0 = std::chrono::steady_clock::now();
  set_node_ready("worker-2", "Unknown");  // what the node lifecycle controller writes
  EXPECT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-4"); }, 30s))
      << "member on a NotReady node not cleaned up";
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("NotReady node: member pruned %.1f s after the node went NotReady (grace 3 s)\n", s);
  EXPECT_GE(s, 3.0);
  // The others are untouched.
  EXPECT_TRUE(cluster_->has_row("agent-1"));
  EXPECT_EQ(cluster_->clusternode_status("agent-2"), "alive");
}
