// The same handler script run by Debian's serf agent and by ours: for the
// same user event and the same member join, both runs see the same SERF_* environment
// (apart from SERF_SELF_NAME) and the same stdin.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent_fixture.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

std::optional<std::string> dump_with(const std::string& dir, const std::string& needle) {
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".out") continue;
    std::ifstream in(e.path());
    std::stringstream s;
    s << in.rdbuf();
    if (s.str().find(needle) != std::string::npos) return s.str();
  }
  return std::nullopt;
}

}  // namespace

TEST(HandlerInterop, SerfAndOursGiveHandlersTheSameInput) {
  if (!have_program("serf")) GTEST_SKIP() << "serf is not installed (hack/deps.sh installs it)";
  TempDir dir;
  auto serf_script = write_dump_script(dir.path() + "/serf", true);
  auto ours_script = write_dump_script(dir.path() + "/ours", true);
  std::map<std::string, std::string> tags = {{"role", "kong"}, {"dc", "one"}};
  // One tag per agent order-wise: Go prints tags in random map order, so a compared member
  // line must carry a single tag.
  GossipAgent::Options so;
  so.kind = GossipAgent::Kind::Serf;
  so.name = "serf-h";
  so.tags = tags;
  so.extra_args = {"-event-handler=member-join,user:cmp=" + serf_script};
  GossipAgent s(dir, so);
  ASSERT_TRUE(s.wait_ready()) << s.process().log();
  GossipAgent::Options oo;
  oo.name = "ours-h";
  oo.tags = tags;
  oo.join = {s.gossip_addr()};
  oo.extra_args = {"--event-handler", "member-join,user:cmp=" + ours_script};
  GossipAgent o(dir, oo);
  ASSERT_TRUE(o.wait_ready()) << o.process().log();
  ASSERT_TRUE(wait_until([&] { return s.status_of("ours-h") == "alive"; }, 20s))
      << s.process().log() << o.process().log();

  GossipAgent::Options to;
  to.name = "third";
  to.tags = {{"role", "edge"}};
  to.join = {o.gossip_addr()};
  GossipAgent third(dir, to);
  auto line = std::string("third\t127.0.0.1\tedge\trole=edge\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return dump_with(dir.path() + "/serf", line) && dump_with(dir.path() + "/ours", line);
      },
      30s));
  auto serf_join = *dump_with(dir.path() + "/serf", line);
  auto ours_join = *dump_with(dir.path() + "/ours", line);
  // A coalesced join may list other members too; the environment and our line must agree.
  EXPECT_EQ(serf_join.substr(0, serf_join.find("--stdin--")),
            ours_join.substr(0, ours_join.find("--stdin--")));

  auto r = run_command(
      {"serf", "event", "-rpc-addr=" + s.rpc_addr(), "-coalesce=false", "cmp", "same payload"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(wait_until(
      [&] {
        return dump_with(dir.path() + "/serf", "same payload") &&
               dump_with(dir.path() + "/ours", "same payload");
      },
      30s));
  auto serf_user = *dump_with(dir.path() + "/serf", "same payload");
  auto ours_user = *dump_with(dir.path() + "/ours", "same payload");
  EXPECT_EQ(serf_user, ours_user);
  EXPECT_NE(ours_user.find("SERF_TAG_DC=one\n"), std::string::npos) << ours_user;
  EXPECT_NE(ours_user.find("--stdin--\nsame payload\n"), std::string::npos) << ours_user;
}
