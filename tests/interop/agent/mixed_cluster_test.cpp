// Two Debian serf agents and two of ours in one encrypted cluster. A key is
// installed, made primary and the old one removed across the mixed cluster (driven through our
// RPC by our CLI); every member stays alive and reachable, and serf reports the new key only.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>

#include "support/cluster_procs.h"
#include "support/wait.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

const std::string kOld = "fFh6U3ZkFwteeYHggcPQoBMFsBKsZB7JfSTf347bt9s=";
const std::string kNew = "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=";

// serf-1, ours-1, serf-2, ours-2, all joined through serf-1. `customize` adds per-kind
// options (a key, event handlers) to each.
struct MixedFour {
  using Customize = std::function<void(GossipAgent::Options&)>;
  MixedFour(const TempDir& dir, const Customize& customize)
      : serf1(dir, options(GossipAgent::Kind::Serf, "serf-1", "", customize)),
        ours1(dir, options(GossipAgent::Kind::Ours, "ours-1", seed(), customize)),
        serf2(dir, options(GossipAgent::Kind::Serf, "serf-2", seed(), customize)),
        ours2(dir, options(GossipAgent::Kind::Ours, "ours-2", seed(), customize)) {}

  // Every agent lists all four alive.
  bool converged() {
    for (auto* a : all())
      if (!wait_until([&] { return a->alive_count() == 4; }, 30s)) return false;
    return true;
  }
  std::vector<GossipAgent*> all() { return {&serf1, &ours1, &serf2, &ours2}; }

  GossipAgent serf1, ours1, serf2, ours2;

 private:
  std::string seed() {
    serf1.wait_ready();
    return serf1.gossip_addr();
  }
  static GossipAgent::Options options(GossipAgent::Kind kind, const std::string& name,
                                      const std::string& join, const Customize& customize) {
    GossipAgent::Options o;
    o.kind = kind;
    o.name = name;
    if (!join.empty()) o.join = {join};
    customize(o);
    return o;
  }
};

}  // namespace

TEST(MixedCluster, KeyRotationAcrossSerfAndOursKeepsTheClusterWhole) {
  if (!have_program("serf")) GTEST_SKIP() << "serf is not installed (hack/deps.sh installs it)";
  TempDir dir;
  MixedFour c(dir, [](GossipAgent::Options& o) { o.encrypt = kOld; });
  ASSERT_TRUE(c.converged());
  auto& [serf1, ours1, serf2, ours2] = c;
  auto all = c.all();

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
  GossipAgent::Options old_key_only;
  old_key_only.name = "stale";
  old_key_only.encrypt = kOld;
  GossipAgent stale(dir, old_key_only);
  ASSERT_TRUE(stale.wait_ready());
  r = run_command({"serf", "join", "-rpc-addr=" + stale.rpc_addr(), serf1.gossip_addr()});
  EXPECT_NE(r.exit_code, 0) << r.output;
}

// The rest of the mixed-cluster promises. User events from either kind
// run the handlers of all four; `serf reachability` against either kind reports every node;
// SIGTERM of ours is `left` everywhere; force-leave of a killed serf member gives `left`, and
// `--prune` (from our CLI and from serf's) removes members from every view.
TEST(MixedCluster, EventsReachabilityLeaveAndPruneAcrossSerfAndOurs) {
  if (!have_program("serf")) GTEST_SKIP() << "serf is not installed (hack/deps.sh installs it)";
  TempDir dir;
  // The same handler for every agent: one line per user event it ran, in a file per agent.
  std::string handler = dir.path() + "/on_user_event.sh";
  write_script(handler, "#!/bin/sh\nread -r payload\necho \"$SERF_USER_EVENT $payload\" >> " +
                            dir.path() + "/handled-$SERF_SELF_NAME\n");
  MixedFour c(dir, [&](GossipAgent::Options& o) {
    if (o.kind == GossipAgent::Kind::Serf)
      o.extra_args = {"-event-handler=user=" + handler};
    else
      o.extra_args = {"--event-handler", "user=" + handler};
  });
  ASSERT_TRUE(c.converged());
  auto& [serf1, ours1, serf2, ours2] = c;
  auto all = c.all();

  auto ran_everywhere = [&](const std::string& line) {
    return wait_until(
        [&] {
          for (auto* a : all)
            if (read_text(dir.path() + "/handled-" + a->name()).find(line) == std::string::npos)
              return false;
          return true;
        },
        20s);
  };
  auto r = run_command(
      {"serf", "event", "-coalesce=false", "-rpc-addr=" + serf2.rpc_addr(), "purge", "from-serf"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ran_everywhere("purge from-serf"));
  r = run_command({kong_cluster_binary(), "event", "--rpc-addr", ours2.rpc_addr(),
                   "--coalesce=false", "purge", "from-ours"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ran_everywhere("purge from-ours"));

  for (auto* a : all) {
    r = run_command({"serf", "reachability", "-rpc-addr=" + a->rpc_addr()});
    EXPECT_EQ(r.exit_code, 0) << a->name() << ": " << r.output;
    EXPECT_NE(r.output.find("Total members: 4, live members: 4"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Successfully contacted all live nodes"), std::string::npos)
        << a->name() << ": " << r.output;
  }

  // A graceful stop of ours: `left` on serf and on ours, never `failed`.
  ours2.process().signal(SIGTERM);
  EXPECT_EQ(ours2.process().wait_exit(20000), 0) << ours2.process().log();
  for (auto* a : {&serf1, &ours1, &serf2})
    EXPECT_TRUE(wait_until([&] { return a->status_of("ours-2") == "left"; }, 15s)) << a->name();

  // A serf member killed: failed, then force-left by our CLI: left on both kinds.
  serf2.process().kill9();
  for (auto* a : {&serf1, &ours1})
    ASSERT_TRUE(wait_until([&] { return a->status_of("serf-2") == "failed"; }, 30s)) << a->name();
  r = run_command({kong_cluster_binary(), "force-leave", "--rpc-addr", ours1.rpc_addr(), "serf-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto* a : {&serf1, &ours1})
    EXPECT_TRUE(wait_until([&] { return a->status_of("serf-2") == "left"; }, 15s)) << a->name();

  // Pruning removes them from every view: serf-2 by our CLI, ours-2 by serf's.
  r = run_command(
      {kong_cluster_binary(), "force-leave", "--prune", "--rpc-addr", ours1.rpc_addr(), "serf-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command({"serf", "force-leave", "-prune", "-rpc-addr=" + serf1.rpc_addr(), "ours-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto* a : {&serf1, &ours1})
    EXPECT_TRUE(wait_until(
        [&] {
          auto m = a->members();
          return m && m->size() == 2 && m->count("serf-1") && m->count("ours-1");
        },
        15s))
        << a->name();
}
