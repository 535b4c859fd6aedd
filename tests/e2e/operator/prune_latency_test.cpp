// What users see after an agent pod goes: from the deletion until the member is gone from
// every agent's view, its nodes row is deleted and its ClusterNode is deleted, over repeated
// runs of two scenarios, with p50/p99 printed (docs/operator.md has the numbers):
// - kill and delete: the agent is killed and its pod force-deleted at the same moment, so
//   every agent still believes the member alive. Without the confirmed-gone force-leave the
//   member stays `leaving` for Serf's 6 s grace; with it, it is erased at once everywhere.
// - graceful: SIGTERM, the agent leaves, then the pod object is removed.
// The operator's own histogram must measure the same span (it reports once all three are
// done), so its mean is compared with the test's.
// KC_PRUNE_RUNS sets the number of kill-and-delete runs (default 8; graceful: half).
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int runs() {
  const char* s = std::getenv("KC_PRUNE_RUNS");
  int n = s ? std::atoi(s) : 8;
  return n > 1 ? n : 8;
}

class PruneLatency : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped()) return;
    for (int i = 1; i <= 3; ++i) cluster_->add_agent("agent-" + std::to_string(i));
    ASSERT_TRUE(wait_until([&] { return cluster_->converged(3); }, 30s));
    port_a_ = free_port();
    port_b_ = free_port();
    op_a_ = cluster_->start_operator("op-a", port_a_);
    op_b_ = cluster_->start_operator("op-b", port_b_);
    ASSERT_TRUE(wait_until([&] { return !cluster_->lease_holder().empty(); }, 20s));
  }
  int leader_port() { return cluster_->lease_holder() == "op-a" ? port_a_ : port_b_; }

  // A fresh agent, seen alive by everyone, with its row and its ClusterNode.
  std::string add_ready_agent() {
    std::string name = "victim-" + std::to_string(++victims_);
    cluster_->add_agent(name);
    size_t n = 0;
    for (auto& a : cluster_->agents()) n += cluster_->agent_running(*a);
    EXPECT_TRUE(wait_until([&] { return cluster_->converged(n); }, 30s)) << name;
    EXPECT_TRUE(wait_until(
        [&] { return cluster_->has_row(name) && cluster_->clusternode_status(name) == "alive"; },
        30s))
        << name;
    return name;
  }

  void report(const char* what, const std::vector<double>& ms) {
    std::printf("%s: %zu runs, p50 %.0f ms, p99 %.0f ms, min %.0f ms, max %.0f ms\n", what,
                ms.size(), percentile(ms, 0.5), percentile(ms, 0.99),
                *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()));
  }

  int port_a_ = 0, port_b_ = 0, victims_ = 0;
};

}  // namespace

TEST_F(PruneLatency, KillAndDeleteThenGraceful) {
  std::vector<double> kill_ms, graceful_ms, leave_ms;
  for (int run = 0; run < runs(); ++run) {
    auto name = add_ready_agent();
    if (HasFailure()) return;
    auto& a = cluster_->agent(name);
    // The same moment: no agent has noticed anything when the pod is gone.
    a.proc->kill9();
    auto t0 = Clock::now();
    cluster_->delete_pod(name);
    ASSERT_TRUE(wait_until([&] { return cluster_->fully_pruned(name); }, 20s, 10ms))
        << name << " not pruned";
    kill_ms.push_back(ms_since(t0));
    std::printf("kill and delete %s: gone everywhere, row and ClusterNode deleted in %.0f ms\n",
                name.c_str(), kill_ms.back());
  }
  for (int run = 0; run < std::max(2, runs() / 2); ++run) {
    auto name = add_ready_agent();
    if (HasFailure()) return;
    auto& a = cluster_->agent(name);
    auto t0 = Clock::now();
    cluster_->delete_pod(name, 30);
    a.proc->signal(SIGTERM);
    EXPECT_EQ(a.proc->wait_exit(15000), 0);
    leave_ms.push_back(ms_since(t0));
    auto removed = Clock::now();
    cluster_->delete_pod(name);
    ASSERT_TRUE(wait_until([&] { return cluster_->fully_pruned(name); }, 20s, 10ms))
        << name << " not reaped";
    graceful_ms.push_back(ms_since(removed));
    std::printf("graceful %s: own leave %.0f ms; after the pod's removal, gone in %.0f ms\n",
                name.c_str(), leave_ms.back(), graceful_ms.back());
  }
  report("kill and delete (pod deletion -> gone from every agent, row, ClusterNode)", kill_ms);
  report("graceful (pod removal -> reaped everywhere, row, ClusterNode)", graceful_ms);
  report("graceful: the agent's own leave (SIGTERM -> exit)", leave_ms);

  int port = leader_port();
  double total = static_cast<double>(kill_ms.size() + graceful_ms.size());
  EXPECT_TRUE(wait_until(
      [&] { return scrape(port, "kong_cluster_operator_prune_latency_seconds_count") >= total; },
      5s));
  double count = scrape(port, "kong_cluster_operator_prune_latency_seconds_count");
  double sum = scrape(port, "kong_cluster_operator_prune_latency_seconds_sum");
  double under_1s = scrape(port, "kong_cluster_operator_prune_latency_seconds_bucket{le=\"1\"}");
  double test_sum = 0;
  for (double v : kill_ms) test_sum += v;
  for (double v : graceful_ms) test_sum += v;
  std::printf(
      "operator histogram: %.0f prunes, mean %.0f ms (test-observed mean %.0f ms), %.0f "
      "within 1 s\n",
      count, count > 0 ? sum / count * 1000 : 0.0, test_sum / total, under_1s);
  EXPECT_EQ(count, total);
  // The operator's span is the measurement (its own reads of every agent, the row and the
  // ClusterNode, every 50 ms): the goal is all of them within 1 s. The test's own observation
  // adds its polling (a `serf members` process per agent, psql and curl per check, seconds on
  // a loaded machine), so its bound is looser, yet below the 6 s a member that looked alive
  // stayed `leaving` before the confirmed-gone force-leave.
  EXPECT_EQ(under_1s, total);
  EXPECT_LT(percentile(kill_ms, 0.99), 6000);
  EXPECT_LT(percentile(graceful_ms, 0.99), 6000);
}
