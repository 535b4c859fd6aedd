// kong-cluster's agent and Debian's `serf agent` 0.9.4 in one cluster:
// joins both ways, tags, failure detection both ways, refutation after a restart, encryption
// (and a wrong key that must not join), the serf CLI driving our RPC.
#include <gtest/gtest.h>

#include "support/cluster_procs.h"
#include "support/wait.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kConverge = 20s;
constexpr auto kDetect = 40s;  // LAN: suspicion 4-5 s plus probe rounds

class SerfInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("serf")) GTEST_SKIP() << "serf is not installed (hack/deps.sh installs it)";
  }
  GossipAgent::Options ours(const std::string& name) {
    GossipAgent::Options o;
    o.kind = GossipAgent::Kind::Ours;
    o.name = name;
    return o;
  }
  GossipAgent::Options serf(const std::string& name) {
    GossipAgent::Options o;
    o.kind = GossipAgent::Kind::Serf;
    o.name = name;
    return o;
  }
  bool sees(const GossipAgent& viewer, const std::string& name, const std::string& status,
            std::chrono::milliseconds timeout) {
    return wait_until([&] { return viewer.status_of(name) == status; }, timeout, 200ms);
  }
  TempDir dir_;
};

const std::string kKey = "fFh6U3ZkFwteeYHggcPQoBMFsBKsZB7JfSTf347bt9s=";
const std::string kOtherKey = "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=";

}  // namespace

TEST_F(SerfInterop, OursJoinsSerfAndTagsShowBothWays) {
  GossipAgent s(dir_, serf("serf-a"));
  ASSERT_TRUE(s.wait_ready());
  auto o = ours("kong-a");
  o.tags = {{"role", "kong"}, {"dc", "one"}};
  o.join = {s.gossip_addr()};
  GossipAgent k(dir_, o);
  ASSERT_TRUE(sees(s, "kong-a", "alive", kConverge)) << k.process().log();
  ASSERT_TRUE(sees(k, "serf-a", "alive", kConverge));
  auto from_serf = s.members();
  ASSERT_TRUE(from_serf);
  EXPECT_EQ(from_serf->at("kong-a").tags.at("role"), "kong");
  EXPECT_EQ(from_serf->at("kong-a").tags.at("dc"), "one");
  EXPECT_EQ(from_serf->at("kong-a").addr, k.gossip_addr());
}

TEST_F(SerfInterop, SerfJoinsOursThroughOurRpcAndTheirs) {
  GossipAgent k(dir_, ours("kong-b"));
  ASSERT_TRUE(k.wait_ready());
  auto so = serf("serf-b");
  so.tags = {{"role", "serf"}};
  GossipAgent s(dir_, so);
  ASSERT_TRUE(s.wait_ready());
  // `serf join` against serf's RPC, pointing at our gossip port.
  auto r = run_command({"serf", "join", "-rpc-addr=" + s.rpc_addr(), k.gossip_addr()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(sees(k, "serf-b", "alive", kConverge));
  auto from_ours = k.members();
  ASSERT_TRUE(from_ours);
  EXPECT_EQ(from_ours->at("serf-b").tags.at("role"), "serf");
  // A third member joined through OUR RPC with the serf CLI.
  GossipAgent s2(dir_, serf("serf-c"));
  ASSERT_TRUE(s2.wait_ready());
  r = run_command({"serf", "join", "-rpc-addr=" + k.rpc_addr(), s2.gossip_addr()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(sees(s, "serf-c", "alive", kConverge));
}

TEST_F(SerfInterop, KillNineIsSeenAsFailedBothWays) {
  GossipAgent s(dir_, serf("serf-d"));
  ASSERT_TRUE(s.wait_ready());
  auto o = ours("kong-d");
  o.join = {s.gossip_addr()};
  auto k = std::make_unique<GossipAgent>(dir_, o);
  auto s2 = std::make_unique<GossipAgent>(dir_, [&] {
    auto x = serf("serf-d2");
    x.join = {s.gossip_addr()};
    return x;
  }());
  ASSERT_TRUE(sees(s, "kong-d", "alive", kConverge));
  ASSERT_TRUE(sees(*k, "serf-d2", "alive", kConverge));
  // Our member dies: serf marks it failed.
  k->process().kill9();
  ASSERT_TRUE(sees(s, "kong-d", "failed", kDetect));
  // Restarted under the same name and address (incarnation 1 again): only refutation can
  // beat the failed record. (A new address for a dead name is a conflict in memberlist 0.2.2.)
  o.bind_port = k->bind_port();
  k = std::make_unique<GossipAgent>(dir_, o);
  ASSERT_TRUE(sees(s, "kong-d", "alive", kConverge)) << k->process().log();
  // A serf member dies: we mark it failed.
  s2->process().kill9();
  ASSERT_TRUE(sees(*k, "serf-d2", "failed", kDetect));
}

TEST_F(SerfInterop, GracefulLeaveOnSigtermEndsLeft) {
  GossipAgent s(dir_, serf("serf-e"));
  ASSERT_TRUE(s.wait_ready());
  auto o = ours("kong-e");
  o.join = {s.gossip_addr()};
  GossipAgent k(dir_, o);
  ASSERT_TRUE(sees(s, "kong-e", "alive", kConverge));
  k.process().signal(SIGTERM);
  EXPECT_EQ(k.process().wait_exit(20000), 0) << k.process().log();
  ASSERT_TRUE(sees(s, "kong-e", "left", 10s));
}

TEST_F(SerfInterop, SerfCliDrivesOurRpcForceLeaveAndEvents) {
  GossipAgent k(dir_, ours("kong-f"));
  ASSERT_TRUE(k.wait_ready());
  auto so = serf("serf-f");
  so.join = {k.gossip_addr()};
  auto s = std::make_unique<GossipAgent>(dir_, so);
  ASSERT_TRUE(sees(k, "serf-f", "alive", kConverge));
  auto r = run_command({"serf", "reachability", "-rpc-addr=" + k.rpc_addr()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Successfully contacted all live nodes"), std::string::npos) << r.output;
  s->process().kill9();
  ASSERT_TRUE(sees(k, "serf-f", "failed", kDetect));
  r = run_command({"serf", "force-leave", "-rpc-addr=" + k.rpc_addr(), "serf-f"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(sees(k, "serf-f", "left", 10s));
  r = run_command({"serf", "force-leave", "-prune", "-rpc-addr=" + k.rpc_addr(), "serf-f"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(sees(k, "serf-f", "", 10s));  // pruned: gone from the list
}

TEST_F(SerfInterop, UserEventsFlowBothWays) {
  GossipAgent k(dir_, ours("kong-g"));
  ASSERT_TRUE(k.wait_ready());
  auto so = serf("serf-g");
  so.join = {k.gossip_addr()};
  so.extra_args = {"-event-handler=user:from-ours=cat >> " + dir_.path() + "/serf-events"};
  GossipAgent s(dir_, so);
  ASSERT_TRUE(sees(k, "serf-g", "alive", kConverge));
  auto r = run_command({kong_cluster_binary(), "event", "--rpc-addr", k.rpc_addr(),
                        "--coalesce=false", "from-ours", "payload-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(wait_until(
      [&] { return s.process().log().find("user-event: from-ours") != std::string::npos; }, 15s))
      << s.process().log();
  r = run_command({"serf", "event", "-rpc-addr=" + s.rpc_addr(), "from-serf", "payload-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(
      wait_until([&] { return k.process().log().find("from-serf") != std::string::npos; }, 15s))
      << k.process().log();
}

TEST_F(SerfInterop, EncryptedClusterBothWaysAndWrongKeyCannotJoin) {
  auto so = serf("serf-h");
  so.encrypt = kKey;
  GossipAgent s(dir_, so);
  ASSERT_TRUE(s.wait_ready());
  auto o = ours("kong-h");
  o.encrypt = kKey;
  o.join = {s.gossip_addr()};
  GossipAgent k(dir_, o);
  ASSERT_TRUE(sees(s, "kong-h", "alive", kConverge)) << k.process().log();
  // serf joins us, encrypted.
  auto so2 = serf("serf-h2");
  so2.encrypt = kKey;
  so2.join = {k.gossip_addr()};
  GossipAgent s2(dir_, so2);
  ASSERT_TRUE(sees(k, "serf-h2", "alive", kConverge));
  // Keys are listed through our RPC by the serf CLI.
  auto r = run_command({"serf", "keys", "-list", "-rpc-addr=" + k.rpc_addr()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kKey), std::string::npos) << r.output;
  // Ours with the wrong key cannot join, and nobody lists it.
  auto bad = ours("kong-wrong-key");
  bad.encrypt = kOtherKey;
  GossipAgent wrong(dir_, bad);
  ASSERT_TRUE(wrong.wait_ready());
  r = run_command({"serf", "join", "-rpc-addr=" + wrong.rpc_addr(), s.gossip_addr()});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(s.status_of("kong-wrong-key"), "");
  EXPECT_EQ(wrong.status_of("serf-h"), "");
}
