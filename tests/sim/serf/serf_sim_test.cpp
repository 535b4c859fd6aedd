// Serf on the real gossip core over the simulated network: joins, user events, queries,
// graceful leave, failure, force-leave, rejoin under the same name, keys. Virtual time.
#include <gtest/gtest.h>

#include "sim/serf/serf_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

size_t count_user_events(std::vector<Event>& evs, const std::string& name) {
  size_t n = 0;
  for (auto& e : evs)
    if (auto* u = std::get_if<UserEvent>(&e); u && u->name == name) ++n;
  return n;
}

size_t count_member_events(std::vector<Event>& evs, EventType t, const std::string& who) {
  size_t n = 0;
  for (auto& e : evs)
    if (auto* m = std::get_if<MemberEvent>(&e); m && m->type == t)
      for (auto& mem : m->members) n += mem.name == who;
  return n;
}

void converge(SerfCluster& c) {
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
}

TEST(SerfSim, JoinAndUserEventReachesEveryoneExactlyOnce) {
  SerfCluster c(10, 1);
  converge(c);
  ASSERT_EQ(c.at(3).user_event("deploy", {'v', '1'}, false), "");
  ASSERT_TRUE(c.clock().run_until(
      [&] {
        for (size_t i = 0; i < c.size(); ++i)
          if (count_user_events(c.events(i), "deploy") == 0) return false;
        return true;
      },
      30s));
  c.clock().run_for(30s);  // retransmissions and push/pulls must not re-deliver
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_EQ(count_user_events(c.events(i), "deploy"), 1u) << i;
}

TEST(SerfSim, QueryCollectsAcksAndResponsesFromAll) {
  SerfCluster c(8, 2);
  converge(c);
  QueryParam p = c.at(0).default_query_params();
  p.request_ack = true;
  std::string err;
  auto resp = c.at(0).query("whoami", {}, p, &err);
  ASSERT_TRUE(resp) << err;
  bool done = false;
  resp->on_done = [&] { done = true; };
  ASSERT_TRUE(c.clock().run_until([&] { return done; }, 10s));
  EXPECT_EQ(resp->acks().size(), 8u);
  EXPECT_EQ(resp->responses().size(), 8u);
  for (auto& r : resp->responses())
    EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), r.from);
}

TEST(SerfSim, ReachabilityPingIsAckedByAll) {
  SerfCluster c(6, 3);
  converge(c);
  QueryParam p = c.at(2).default_query_params();
  p.request_ack = true;
  auto resp = c.at(2).query("_serf_ping", {}, p);
  ASSERT_TRUE(resp);
  ASSERT_TRUE(c.clock().run_until([&] { return resp->closed(); }, 10s));
  EXPECT_EQ(resp->acks().size(), 6u);
  EXPECT_TRUE(resp->responses().empty());
  for (size_t i = 0; i < c.size(); ++i)
    for (auto& e : c.events(i)) EXPECT_NE(event_type(e), EventType::Query);
}

TEST(SerfSim, QueryWithFiltersAndRelay) {
  SerfCluster c(6, 4, [](kc::serf::Config& cfg) {
    cfg.tags["role"] = cfg.node_name == "node-1" || cfg.node_name == "node-4" ? "web" : "db";
  });
  converge(c);
  QueryParam p = c.at(0).default_query_params();
  p.request_ack = true;
  p.relay_factor = 2;
  p.filter_tags = {{"role", "^web$"}};
  auto resp = c.at(0).query("whoami", {}, p);
  ASSERT_TRUE(c.clock().run_until([&] { return resp->closed(); }, 10s));
  std::set<std::string> acks(resp->acks().begin(), resp->acks().end());
  EXPECT_EQ(acks, (std::set<std::string>{"node-1", "node-4"}));
  EXPECT_EQ(resp->responses().size(), 2u);
}

TEST(SerfSim, GracefulLeaveEndsLeftEverywhere) {
  SerfCluster c(6, 5);
  converge(c);
  std::string result = "pending";
  c.at(4).leave([&](const std::string& e) { result = e; });
  ASSERT_TRUE(c.clock().run_until([&] { return result != "pending"; }, 15s));
  EXPECT_EQ(result, "");
  EXPECT_EQ(c.at(4).state(), Serf::State::Left);
  c.at(4).shutdown();
  c.crash(4);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-4", MemberStatus::Left); }, 30s));
  c.clock().run_for(60s);
  EXPECT_TRUE(c.all_see("node-4", MemberStatus::Left));
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) continue;
    EXPECT_EQ(count_member_events(c.events(i), EventType::MemberFailed, "node-4"), 0u) << i;
    EXPECT_EQ(count_member_events(c.events(i), EventType::MemberLeave, "node-4"), 1u) << i;
  }
}

TEST(SerfSim, CrashIsFailedThenForceLeaveLeftThenPrune) {
  SerfCluster c(6, 6, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  c.crash(5);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-5", MemberStatus::Failed); }, 60s));
  std::string result = "pending";
  c.at(0).force_leave("node-5", false, [&](const std::string& e) { result = e; });
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-5", MemberStatus::Left); }, 30s));
  ASSERT_TRUE(c.clock().run_until([&] { return result != "pending"; }, 10s));
  EXPECT_EQ(result, "");
  c.at(1).force_leave("node-5", true, nullptr);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-5", std::nullopt); }, 30s));
}

TEST(SerfSim, RestartUnderSameNameThenLeaveIsLeftNotFailed) {
  SerfCluster c(5, 7, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 1h; });
  converge(c);
  // Raise node-2's status LTime everywhere well past 1: each force-leave of a live member
  // makes it refute with a newer join intent. A restarted node-2 starts its clock at 1 again.
  for (int round = 0; round < 4; ++round) {
    c.at(0).force_leave("node-2", false, nullptr);
    c.clock().run_for(3s);
  }
  ASSERT_TRUE(c.all_see_all_alive());
  c.crash(2);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-2", MemberStatus::Failed); }, 60s));
  c.start(2);  // clocks back at 1
  c.at(2).join({SerfCluster::address_of(0).to_string()}, true, nullptr);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
  EXPECT_GT(c.at(2).member_clock(), 5u);
  std::string result = "pending";
  c.at(2).leave([&](const std::string& e) { result = e; });
  ASSERT_TRUE(c.clock().run_until([&] { return result != "pending"; }, 15s));
  EXPECT_EQ(result, "");
  c.at(2).shutdown();
  c.crash(2);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-2", MemberStatus::Left); }, 30s));
  c.clock().run_for(30s);
  EXPECT_TRUE(c.all_see("node-2", MemberStatus::Left));
}

TEST(SerfSim, ReconnectRejoinsAFailedMemberAfterPartition) {
  SerfCluster c(4, 8, [](kc::serf::Config& cfg) { cfg.reconnect_interval = 5s; });
  converge(c);
  std::set<Address> a{SerfCluster::address_of(0), SerfCluster::address_of(1),
                      SerfCluster::address_of(2)};
  std::set<Address> b{SerfCluster::address_of(3)};
  c.net().partition({a, b});
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see("node-3", MemberStatus::Failed); }, 120s));
  c.net().heal();
  // Nobody joins by hand: Serf's reconnect brings it back.
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 300s));
}

TEST(SerfSim, EventsMissedWhileAwayArriveByPushPull) {
  SerfCluster c(4, 9);
  converge(c);
  std::set<Address> a{SerfCluster::address_of(0), SerfCluster::address_of(1),
                      SerfCluster::address_of(2)};
  std::set<Address> b{SerfCluster::address_of(3)};
  c.net().partition({a, b});
  c.at(0).user_event("while-away", {}, false);
  c.clock().run_for(10s);  // retransmissions are spent inside the majority
  EXPECT_EQ(count_user_events(c.events(3), "while-away"), 0u);
  c.net().heal();
  ASSERT_TRUE(
      c.clock().run_until([&] { return count_user_events(c.events(3), "while-away") == 1; }, 300s));
}

TEST(SerfSim, KeyRotationAcrossCluster) {
  kc::gossip::Bytes k1(16, 1), k2(16, 2);
  SerfCluster c(5, 10, {}, k1);
  converge(c);
  auto run = [&](auto op) {
    std::string error = "pending";
    KeyResponse got;
    op([&](const KeyResponse& r, const std::string& e) {
      got = r;
      error = e;
    });
    EXPECT_TRUE(c.clock().run_until([&] { return error != "pending"; }, 20s));
    return std::make_pair(got, error);
  };
  auto k2b64 = kc::gossip::base64_encode(k2);
  auto [inst, e1] = run([&](auto d) { c.at(0).key_manager().install_key(k2b64, d); });
  EXPECT_EQ(e1, "");
  EXPECT_EQ(inst.num_resp, 5);
  auto [use, e2] = run([&](auto d) { c.at(1).key_manager().use_key(k2b64, d); });
  EXPECT_EQ(e2, "");
  auto [rm, e3] =
      run([&](auto d) { c.at(2).key_manager().remove_key(kc::gossip::base64_encode(k1), d); });
  EXPECT_EQ(e3, "");
  auto [list, e4] = run([&](auto d) { c.at(3).key_manager().list_keys(d); });
  EXPECT_EQ(e4, "");
  EXPECT_EQ(list.keys.size(), 1u);
  EXPECT_EQ(list.keys[k2b64], 5);
  EXPECT_EQ(list.primary_keys[k2b64], 5);
  // Still one cluster on the new key.
  c.at(4).user_event("after-rotation", {}, false);
  ASSERT_TRUE(c.clock().run_until(
      [&] {
        for (size_t i = 0; i < c.size(); ++i)
          if (count_user_events(c.events(i), "after-rotation") != 1) return false;
        return true;
      },
      30s));
}

TEST(SerfSim, FiftyMembers) {
  SerfCluster c(50, 11);
  converge(c);
  c.at(17).user_event("big", {}, false);
  ASSERT_TRUE(c.clock().run_until(
      [&] {
        for (size_t i = 0; i < c.size(); ++i)
          if (count_user_events(c.events(i), "big") != 1) return false;
        return true;
      },
      30s));
  QueryParam p = c.at(0).default_query_params();
  p.request_ack = true;
  auto resp = c.at(0).query("_serf_ping", {}, p);
  ASSERT_TRUE(c.clock().run_until([&] { return resp->closed(); }, 20s));
  EXPECT_EQ(resp->acks().size(), 50u);
}

}  // namespace
