// The operator's --rpc-auth-file: agents that require an RPC token (cluster_rpc_auth) are
// still read and pruned by an operator given the token in a file. Their ClusterNodes carry
// dc and zone (from the agents' own Node lookup) and the incarnation (from the agents' HTTP
// API, since Serf's RPC does not carry it).
#include <signal.h>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

class OperatorRpcAuth : public ClusterTest {
 protected:
  nlohmann::json clusternode(const std::string& name) {
    return cluster_->clusternode(name).value("status", nlohmann::json::object());
  }
};

}  // namespace

TEST_F(OperatorRpcAuth, OperatorWithTheTokenFilePrunesAgentsThatRequireIt) {
  cluster_->require_rpc_auth("s3cret-rpc-token");
  cluster_->add_agent("agent-1");
  cluster_->add_agent("agent-2");
  cluster_->add_agent("agent-3", "worker-2");
  ASSERT_TRUE(wait_until([&] { return cluster_->converged(3); }, 30s)) << "agents did not converge";
  // The agents refuse a client without the token.
  EXPECT_FALSE(members_of(cluster_->agent("agent-1").rpc_addr()));

  int port = free_port();
  op_a_ = cluster_->start_operator("op-a", port);
  // Members read over the authenticated RPC become ClusterNodes.
  nlohmann::json st;
  ASSERT_TRUE(wait_until(
      [&] {
        st = clusternode("agent-3");
        return st.value("status", "") == "alive" && st.contains("incarnation");
      },
      20s))
      << st.dump();
  EXPECT_EQ(st.value("dc", ""), "dc1");
  EXPECT_EQ(st.value("zone", ""), "dc1-b");
  EXPECT_EQ(st.value("node", ""), "worker-2");
  EXPECT_GE(st["incarnation"].get<int64_t>(), 1) << st.dump();

  // A crashed agent whose pod is then deleted is force-left everywhere (an authenticated RPC
  // call on every agent), its row and ClusterNode deleted.
  crash_agent("agent-3");
  if (HasFatalFailure()) return;
  cluster_->delete_pod("agent-3");
  EXPECT_TRUE(wait_until([&] { return cluster_->fully_pruned("agent-3"); }, 15s))
      << "agent-3 not pruned";
  EXPECT_EQ(clusternode("agent-1").value("status", ""), "alive");
}
