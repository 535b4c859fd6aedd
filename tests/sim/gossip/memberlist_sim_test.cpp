// The gossip core on a simulated network: convergence, failure detection, refutation,
// Lifeguard under loss, determinism. Virtual time: minutes run in seconds.
#include <gtest/gtest.h>

#include "sim/gossip/sim_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

// Everyone's view of `name`, counted by state.
size_t count_seeing(SimCluster& c, const std::string& name, NodeState state) {
  size_t n = 0;
  for (size_t v = 0; v < c.size(); ++v)
    if (c.running(v) && c.state_in(v, name) == state) ++n;
  return n;
}

}  // namespace

TEST(MemberlistSim, SmallClusterConvergesAndDetectsCrash) {
  SimCluster c(10, 1);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 30s));
  c.crash(7);
  ASSERT_TRUE(c.clock().run_until(
      [&] { return count_seeing(c, "node-7", NodeState::Dead) == c.running_count(); }, 60s));
}

TEST(MemberlistSim, GracefulLeaveIsLeftNotDead) {
  SimCluster c(5, 2);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 30s));
  bool done = false;
  c.at(3).leave(5s, [&](bool timed_out) {
    EXPECT_FALSE(timed_out);
    done = true;
  });
  ASSERT_TRUE(c.clock().run_until([&] { return done; }, 10s));
  c.crash(3);
  ASSERT_TRUE(c.clock().run_until(
      [&] { return count_seeing(c, "node-3", NodeState::Left) == c.running_count(); }, 30s));
}

TEST(MemberlistSim, RestartUnderSameNameRefutesAndComesBack) {
  SimCluster c(5, 3);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 30s));
  c.crash(2);
  ASSERT_TRUE(c.clock().run_until(
      [&] { return count_seeing(c, "node-2", NodeState::Dead) == c.running_count(); }, 60s));
  c.start(2);  // incarnation 1 again: only refutation can beat the dead record
  c.at(2).join({SimCluster::address_of(0).to_string()}, [](int, std::string) {});
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
  EXPECT_GT(c.at(0).find("node-2")->incarnation, 1u);
}

TEST(MemberlistSim, PartitionMakesFailedThenHealsByPushPull) {
  SimCluster c(6, 4);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 30s));
  std::set<Address> left_side, right_side;
  for (size_t i = 0; i < 6; ++i) (i < 3 ? left_side : right_side).insert(SimCluster::address_of(i));
  c.net().partition({left_side, right_side});
  ASSERT_TRUE(
      c.clock().run_until([&] { return c.state_in(0, "node-5") == NodeState::Dead; }, 120s));
  c.net().heal();
  // memberlist alone does not rejoin dead members (Serf's reconnect does): rejoin by hand.
  c.at(5).join({SimCluster::address_of(0).to_string()}, [](int, std::string) {});
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 120s));
}

TEST(MemberlistSim, NoFalsePositivesUnderFivePercentLoss) {
  SimCluster c(50, 5);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
  c.net().set_loss(0.05);
  // Ten virtual minutes: a healthy member must never be declared dead by anyone.
  for (int minute = 0; minute < 10; ++minute) {
    c.clock().run_for(60s);
    for (size_t v = 0; v < c.size(); ++v)
      for (auto& n : c.at(v).members())
        ASSERT_NE(n.state, NodeState::Dead)
            << n.name << " declared dead by node-" << v << " in minute " << minute;
  }
}

TEST(MemberlistSim, SameSeedSameRun) {
  auto run = [](uint64_t seed) {
    SimCluster c(20, seed);
    c.net().set_loss(0.02);
    c.join_all_to(0);
    c.clock().run_for(20s);
    c.crash(4);
    c.clock().run_for(30s);
    std::string trace;
    for (size_t v = 0; v < c.size(); ++v) {
      if (!c.running(v)) continue;
      for (auto& n : c.at(v).members())
        trace += n.name + ":" + to_string(n.state) + ":" + std::to_string(n.incarnation) + ";";
    }
    return std::make_pair(trace, c.clock().events_run());
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42).second, run(43).second);
}

TEST(MemberlistSim, ThousandMembersConvergeAndDetectACrash) {
  Config cfg = Config::lan();
  // LZW dominates the cost of a thousand members in one process; the codec has its own
  // tests and the smaller simulations run with it on.
  cfg.enable_compression = false;
  SimCluster c(1000, 6, cfg);
  // Joins spread over the first seconds, each to a random earlier member, as pods start.
  for (size_t i = 1; i < c.size(); ++i) {
    size_t seed = i % 10;  // ten seeds, like the rows of a nodes table
    c.at(i).join({SimCluster::address_of(seed == i ? 0 : seed).to_string()},
                 [](int, std::string) {});
  }
  auto start = c.clock().now();
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 300s, 1s))
      << "not converged after 300 virtual seconds";
  auto converged = c.clock().now();
  c.crash(500);
  ASSERT_TRUE(c.clock().run_until(
      [&] { return count_seeing(c, "node-500", NodeState::Dead) == c.running_count(); }, 300s, 1s));
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "1000 members: all see all alive after %.0f virtual s; a crash seen dead by all %.0f s "
      "later\n",
      secs(converged - start), secs(c.clock().now() - converged));
}
