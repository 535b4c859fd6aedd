// Issue 3, point 1: two Debian serf agents and two of ours in one encrypted cluster. A key is
// installed, made primary and the old one removed across the mixed cluster (driven through our
// RPC by our CLI); every member stays alive and reachable, and serf reports the new key only.
#include <gtest/gtest.h>

#include "support/cluster_procs.h"
#include "support/wait.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

const std::string kOld = "fFh6U3ZkFwteeYHggcPQoBMFsBKsZB7JfSTf347bt9s=";
const std::string kNew = "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=";

}  // namespace

TEST(MixedCluster, KeyRotationAcrossSerfAndOursKeepsTheClusterWhole) {
  if (!have_program("serf")) GTEST_SKIP() << "serf is not installed (hack/deps.sh installs it)";
  TempDir dir;
  auto opts = [&](GossipAgent::Kind kind, const std::string& name, const std::string& join) {
    GossipAgent::Options o;
    o.kind = kind;
    o.name = name;
    o.encrypt = kOld;
    if (!join.empty()) o.join = {join};
    return o;
  };
  GossipAgent serf1(dir, opts(GossipAgent::Kind::Serf, "serf-1", ""));
  ASSERT_TRUE(serf1.wait_ready());
  GossipAgent ours1(dir, opts(GossipAgent::Kind::Ours, "ours-1", serf1.gossip_addr()));
  GossipAgent serf2(dir, opts(GossipAgent::Kind::Serf, "serf-2", serf1.gossip_addr()));
  GossipAgent ours2(dir, opts(GossipAgent::Kind::Ours, "ours-2", serf1.gossip_addr()));
  std::vector<GossipAgent*> all = {&serf1, &ours1, &serf2, &ours2};
  for (auto* a : all)
    ASSERT_TRUE(wait_until([&] { return a->alive_count() == 4; }, 30s)) << a->name();

  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {kong_cluster_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--rpc-addr", ours1.rpc_addr()});
    return run_command(argv);
  };
  auto r = cli({"keys", "install", kNew});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli({"keys", "use", kNew});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli({"keys", "remove", kOld});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // serf's own CLI, against a serf agent, sees exactly the new key on all four members.
  r = run_command({"serf", "keys", "-list", "-rpc-addr=" + serf2.rpc_addr()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kNew + "  [4/4]"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(kOld), std::string::npos) << r.output;

  // Still one cluster on the new key: reachability from both kinds, everyone alive.
  for (auto* a : {&serf2, &ours2}) {
    r = run_command({"serf", "reachability", "-rpc-addr=" + a->rpc_addr()});
    EXPECT_EQ(r.exit_code, 0) << a->name() << ": " << r.output;
  }
  for (auto* a : all) EXPECT_EQ(a->alive_count(), 4u) << a->name();

  // A member that only knows the old key can no longer join.
  GossipAgent stale(dir, opts(GossipAgent::Kind::Ours, "stale", ""));
  ASSERT_TRUE(stale.wait_ready());
  r = run_command({"serf", "join", "-rpc-addr=" + stale.rpc_addr(), serf1.gossip_addr()});
  EXPECT_NE(r.exit_code, 0) << r.output;
}
