// Pods that carry the agents' labels but are not the agent DaemonSet's (no owner reference,
// the DaemonSet's name with another uid, or the wrong ServiceAccount) serve a fake RPC that
// reports a real, healthy member with invented pod tags. The operator must never connect to
// them (so never send them the RPC token) and never prune on their word. A rogue that forges
// the owner reference and ServiceAccount as well is trusted (docs/operator.md, "Trust"), yet
// still cannot get a live member pruned: its address belongs to a Running and Ready agent pod,
// and the other agents contradict the report.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

const char* kToken = "rogue-test-token-6f1d";

class RoguePod : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped()) return;
    cluster_->require_rpc_auth(kToken);
    for (int i = 1; i <= 3; ++i) cluster_->add_agent("agent-" + std::to_string(i));
    ASSERT_TRUE(wait_until([&] { return cluster_->converged(3); }, 30s));
    ASSERT_TRUE(wait_until([&] { return cluster_->row_count() == 3; }, 20s));
  }

  // The attacker's RPC server, answering for every rogue pod (they share 127.0.0.1 and port).
  void start_rogue(const std::string& auth) {
    rogue_rpc_ = free_port();
    status_ = cluster_->dir().path() + "/rogue.status";
    auto& victim = cluster_->agent("agent-2");
    std::vector<std::string> argv = {
        binary_dir() + "/bin/e2e_operator_rogue_agent", "--rpc",
        "127.0.0.1:" + std::to_string(rogue_rpc_), "--status", status_,
        // agent-2 as it really is (name, address) but claimed by a pod that does not exist.
        "--member", "agent-2|" + victim.gossip_addr() + "|pod=ghost-0,namespace=" + cluster_->ns(),
        // agent-3 at an address it does not have, also claimed by a ghost.
        "--member", "agent-3|127.0.0.1:9|pod=ghost-1,namespace=" + cluster_->ns()};
    if (!auth.empty()) argv.insert(argv.end(), {"--auth", auth});
    rogue_ = std::make_unique<Process>(argv, cluster_->dir().path() + "/rogue.log");
    ASSERT_TRUE(wait_until([&] { return !rogue_status().empty(); }, 10s)) << rogue_->log();
  }
  std::string rogue_status() {
    std::ifstream in(status_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int rogue_accepted() {
    auto s = rogue_status();
    return s.rfind("accepted ", 0) == 0 ? std::atoi(s.c_str() + 9) : -1;
  }
  void add_rogue_pod(const std::string& name, Ownership owner) {
    cluster_->create_pod(name, "worker-1", rogue_rpc_, free_port(), free_port(), owner);
  }
  void start_operators() {
    port_a_ = free_port();
    port_b_ = free_port();
    op_a_ = cluster_->start_operator("op-a", port_a_);
    op_b_ = cluster_->start_operator("op-b", port_b_);
    // Acting: every real member mirrored as a ClusterNode.
    ASSERT_TRUE(wait_until(
        [&] {
          for (int i = 1; i <= 3; ++i)
            if (cluster_->clusternode_status("agent-" + std::to_string(i)) != "alive") return false;
          return true;
        },
        30s));
  }
  // Nothing was pruned: every member alive in every view, rows and ClusterNodes in place.
  void expect_nothing_pruned() {
    for (int i = 1; i <= 3; ++i) {
      std::string name = "agent-" + std::to_string(i);
      for (auto& a : cluster_->agents()) {
        auto ms = members_of(a->rpc_addr(), kToken);
        ASSERT_TRUE(ms);
        EXPECT_EQ(ms->count(name) ? ms->at(name) : "absent", "alive") << name << " in " << a->name;
      }
      EXPECT_TRUE(cluster_->has_row(name)) << name;
      // A trusted liar can make a ClusterNode go for a poll (it is a mirror of the last
      // answer); it must come back.
      EXPECT_TRUE(wait_until([&] { return cluster_->clusternode_code(name) == 200; }, 10s)) << name;
    }
  }
  std::string operator_logs() { return op_a_->log() + op_b_->log(); }

  // The leader's /metrics (the standby's counters stay 0).
  double leader_metric(const std::string& series) {
    return scrape(cluster_->lease_holder() == "op-a" ? port_a_ : port_b_, series);
  }

  int rogue_rpc_ = 0, port_a_ = 0, port_b_ = 0;
  std::string status_;
  std::unique_ptr<Process> rogue_;
};

}  // namespace

TEST_F(RoguePod, LookAlikesAreNeverContactedAndCauseNoPrune) {
  // The rogue accepts any token, as an attacker harvesting it would.
  start_rogue("");
  add_rogue_pod("rogue-unowned", Ownership::None);
  add_rogue_pod("rogue-wrong-uid", Ownership::WrongUid);
  add_rogue_pod("rogue-wrong-account", Ownership::WrongAccount);
  start_operators();
  if (HasFatalFailure()) return;
  // Member polls every second, a resync every 5 s: several rounds in which the operator would
  // have asked the rogue pods, had it trusted them (a bounded watch for what must not happen).
  EXPECT_FALSE(wait_until([&] { return rogue_accepted() != 0; }, 8s, 100ms))
      << "the operator connected to a rogue pod:\n"
      << rogue_status();
  EXPECT_EQ(rogue_accepted(), 0) << rogue_status();
  expect_nothing_pruned();
  EXPECT_EQ(leader_metric("kong_cluster_operator_prunes_total{reason=\"orphan\"}"), 0);
  auto logs = operator_logs();
  for (const char* pod : {"rogue-unowned", "rogue-wrong-uid", "rogue-wrong-account"})
    EXPECT_NE(logs.find("pod " + cluster_->ns() + "/" + pod + " matches the agent selector"),
              std::string::npos)
        << pod << " not reported as ignored";
  // Deleting a rogue pod prunes nothing either.
  cluster_->delete_pod("rogue-unowned");
  EXPECT_FALSE(wait_until([&] { return !cluster_->has_row("agent-2"); }, 3s, 100ms));
  expect_nothing_pruned();
  std::printf("rogue look-alike pods: %d connections to their RPC, no member pruned\n",
              rogue_accepted());
}

TEST_F(RoguePod, ForgedOwnerIsTrustedButCannotPruneALiveMember) {
  // This rogue has the token (a pod creator can mount the Secret) and forges the owner
  // reference and ServiceAccount: the operator asks it about membership like any agent.
  start_rogue(kToken);
  add_rogue_pod("rogue-forged", Ownership::DaemonSet);
  start_operators();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(
      wait_until([&] { return rogue_status().find("call members") != std::string::npos; }, 20s))
      << "the operator never asked the forged-owner pod: the test would prove nothing";
  // Its forged reports reach the prune rules (orphan confirmed by a fresh GET: the ghost pods
  // do not exist) on every poll that lands on it; none may prune.
  ASSERT_TRUE(wait_until(
      [&] {
        return leader_metric("kong_cluster_operator_prunes_refused_total{reason=\"live_pod\"}") +
                   leader_metric(
                       "kong_cluster_operator_prunes_refused_total{reason=\"disagreement\"}") >=
               1;
      },
      20s))
      << "no prune was attempted and refused";
  EXPECT_FALSE(wait_until([&] { return !cluster_->has_row("agent-2"); }, 6s, 100ms));
  expect_nothing_pruned();
  EXPECT_EQ(leader_metric("kong_cluster_operator_prunes_total{reason=\"orphan\"}"), 0);
  EXPECT_EQ(rogue_status().find("call force-leave agent-2"), std::string::npos);
  std::printf("forged-owner rogue: refused prunes live_pod=%.0f disagreement=%.0f\n",
              leader_metric("kong_cluster_operator_prunes_refused_total{reason=\"live_pod\"}"),
              leader_metric("kong_cluster_operator_prunes_refused_total{reason=\"disagreement\"}"));
}
