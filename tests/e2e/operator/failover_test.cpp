// Killing the leader hands over within the lease duration and a deletion
// made while nobody leads is still acted on; an apiserver restart (every watch ends, resuming
// gets 410 from the new watch cache) loses no deletion; with Postgres down during a deletion
// the row is deleted once it returns.
#include <signal.h>

#include <cstdio>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

class OperatorFailover : public ClusterTest {};

}  // namespace

TEST_F(OperatorFailover, LeaderLossWatchLossAndPostgresOutageLoseNoDeletion) {
  for (int i = 1; i <= 4; ++i) cluster_->add_agent("agent-" + std::to_string(i));
  ASSERT_TRUE(wait_until([&] { return cluster_->converged(4); }, 30s));
  int port_a = free_port(), port_b = free_port();
  op_a_ = cluster_->start_operator("op-a", port_a);
  ASSERT_TRUE(wait_until([&] { return cluster_->lease_holder() == "op-a"; }, 20s));
  op_b_ = cluster_->start_operator("op-b", port_b);
  ASSERT_TRUE(wait_until([&] { return cluster_->clusternode_status("agent-4") == "alive"; }, 20s));
  ASSERT_TRUE(wait_until(
      [&] {
        return scrape(port_b, "leader_election_master_status{name=\"kong-cluster-operator\"}") == 0;
      },
      10s));

  // 1. The leader dies (no release). A pod is deleted while nobody leads.
  auto t_kill = std::chrono::steady_clock::now();
  op_a_->kill9();
  crash_agent("agent-4");
  cluster_->delete_pod("agent-4");
  EXPECT_EQ(cluster_->lease_holder(), "op-a")
      << "the deletion should fall in the leaderless window";
  ASSERT_TRUE(wait_until([&] { return cluster_->lease_holder() == "op-b"; }, 30s, 100ms));
  double takeover =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_kill).count();
  std::printf("takeover: op-b leads %.1f s after the leader was killed (lease 15 s, retry 2 s)\n",
              takeover);
  EXPECT_LT(takeover, 15.0 + 4.4 + 1.0);  // lease duration + one jittered retry + polling
  EXPECT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-4"); }, 15s))
      << "deletion during the leaderless window was lost";

  // 2. The apiserver is stopped and started again (etcd keeps the data): every watch ends,
  //    and a watch resumed from an older resourceVersion than the restarted apiserver's watch
  //    cache starts at gets 410. The deletion lands while the operator is still reconnecting.
  //    The outage must stay under the leader's renew deadline (10 s), or it steps down and
  //    exits, as it should: so the apiserver crashes (a graceful stop waits 10 s for the
  //    watches) and comes back at once.
  crash_agent("agent-3");
  auto t_stop = std::chrono::steady_clock::now();
  cluster_->kube().apiserver("stop", true);
  cluster_->kube().apiserver("start");
  std::printf("apiserver stopped and serving again after %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_stop).count());
  auto t_del = std::chrono::steady_clock::now();
  cluster_->delete_pod("agent-3");
  EXPECT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-3"); }, 20s, 20ms))
      << "deletion lost across the apiserver restart";
  std::printf(
      "deletion right after the apiserver restart pruned after %.0f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_del).count());
  EXPECT_GE(scrape(port_b, "kong_cluster_operator_watch_restarts_total{resource=\"pods\"}"), 1);

  // 3. Postgres is down during a deletion: gossip and Kubernetes are cleaned at once, the row
  //    when Postgres is back.
  crash_agent("agent-2");
  cluster_->pg().stop();
  cluster_->delete_pod("agent-2");
  EXPECT_TRUE(wait_until(
      [&] {
        return cluster_->pruned_everywhere("agent-2") &&
               cluster_->clusternode_code("agent-2") == 404;
      },
      15s));
  cluster_->pg().start();
  auto t_pg = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return !cluster_->has_row("agent-2"); }, 30s))
      << "row not deleted after Postgres returned";
  std::printf("row deleted %.1f s after Postgres came back\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pg).count());
  EXPECT_TRUE(cluster_->has_row("agent-1"));
  EXPECT_EQ(cluster_->clusternode_status("agent-1"), "alive");
}

TEST_F(OperatorFailover, GracefulShutdownReleasesTheLease) {
  int port_a = free_port(), port_b = free_port();
  op_a_ = cluster_->start_operator("op-a", port_a);
  ASSERT_TRUE(wait_until([&] { return cluster_->lease_holder() == "op-a"; }, 20s));
  op_b_ = cluster_->start_operator("op-b", port_b);
  ASSERT_TRUE(wait_until(
      [&] {
        return scrape(port_b, "leader_election_master_status{name=\"kong-cluster-operator\"}") == 0;
      },
      10s));
  auto t0 = std::chrono::steady_clock::now();
  op_a_->signal(SIGTERM);
  EXPECT_EQ(op_a_->wait_exit(10000), 0);
  ASSERT_TRUE(wait_until([&] { return cluster_->lease_holder() == "op-b"; }, 15s, 50ms));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("graceful handover: op-b leads %.1f s after SIGTERM to the leader (released lease)\n",
              s);
  EXPECT_LT(s, 2.0 * 2.2 + 1.0);  // one jittered retry period, not a lease duration
}
