// force-leave of a member an outside authority confirmed gone (Serf::force_leave_gone): a
// member killed an instant ago still looks alive to everyone, and a plain force-leave -prune
// leaves it `leaving` for the broadcast timeout plus the leave propagation delay (6 s).
// Declared dead at the memberlist layer as well, it is erased at once on every agent, even
// when only one agent was told. A member that is in fact alive refutes and comes back.
#include <gtest/gtest.h>

#include "sim/serf/serf_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

void converge(SerfCluster& c) {
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
}

// How long, in virtual time, until no running agent lists `name` (nullopt: not within 30 s).
std::optional<kc::gossip::Duration> time_until_erased(SerfCluster& c, const std::string& name) {
  auto start = c.clock().now();
  if (!c.clock().run_until([&] { return c.all_see(name, std::nullopt); }, 30s)) return std::nullopt;
  return c.clock().now() - start;
}

TEST(SerfForceLeaveGone, KilledMemberStillAliveIsErasedEverywhereAtOnce) {
  SerfCluster c(6, 41, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  c.crash(5);
  ASSERT_TRUE(c.all_see("node-5", MemberStatus::Alive));  // nobody noticed yet
  std::string result = "pending";
  // Only one agent is told: the others learn it from gossip alone.
  c.at(0).force_leave_gone("node-5", [&](const std::string& e) { result = e; });
  EXPECT_FALSE(c.at(0).member("node-5")) << "the agent told erases it before anything is sent";
  auto took = time_until_erased(c, "node-5");
  ASSERT_TRUE(took) << "node-5 still listed after 30 s";
  EXPECT_LT(*took, 1s) << "erased everywhere after "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(*took).count()
                       << " ms";
  ASSERT_TRUE(c.clock().run_until([&] { return result != "pending"; }, 10s));
  EXPECT_EQ(result, "");
  // Stays gone: no push/pull or gossip brings it back.
  c.clock().run_for(60s);
  EXPECT_TRUE(c.all_see("node-5", std::nullopt));
  EXPECT_EQ(c.at(1).members().size(), 5u);
}

TEST(SerfForceLeaveGone, PlainPruneOfAnAliveLookingMemberWaitsTheLeaveGrace) {
  // The behaviour the confirmation exists for, as Serf 0.9.4 has it: still listed (leaving)
  // one second later, erased once the grace ends.
  SerfCluster c(6, 42, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  c.crash(5);
  c.at(0).force_leave("node-5", true, nullptr);
  c.clock().run_for(1s);
  EXPECT_EQ(c.status_in(0, "node-5"), MemberStatus::Leaving);
  EXPECT_TRUE(time_until_erased(c, "node-5"));
}

TEST(SerfForceLeaveGone, EveryAgentToldErasesWithoutWaitingForGossip) {
  SerfCluster c(5, 43, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  c.crash(4);
  for (size_t i = 0; i < 4; ++i) c.at(i).force_leave_gone("node-4", nullptr);
  EXPECT_TRUE(c.all_see("node-4", std::nullopt));
  c.clock().run_for(30s);
  EXPECT_TRUE(c.all_see("node-4", std::nullopt));
}

TEST(SerfForceLeaveGone, LiveMemberDeclaredGoneRefutesAndComesBack) {
  SerfCluster c(5, 44, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  std::string result = "pending";
  c.at(0).force_leave_gone("node-3", [&](const std::string& e) { result = e; });
  EXPECT_FALSE(c.at(0).member("node-3"));
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 30s))
      << "a live member wrongly declared gone must refute and be listed alive again";
  EXPECT_GT(c.at(3).memberlist().local_node().incarnation, 1u);
}

TEST(SerfForceLeaveGone, RefusesToDeclareItselfGone) {
  SerfCluster c(2, 45);
  converge(c);
  std::string result = "pending";
  c.at(0).force_leave_gone("node-0", [&](const std::string& e) { result = e; });
  EXPECT_NE(result, "");
  EXPECT_NE(result, "pending");
  EXPECT_EQ(c.at(0).state(), Serf::State::Alive);
  EXPECT_TRUE(c.all_see_all_alive());
}

}  // namespace
