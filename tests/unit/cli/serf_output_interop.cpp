// Our subcommands print what Debian's `serf` CLI prints for the same agent state: both run
// against one of our RPC servers (fake agent behind it) and their outputs are compared.
#include <gtest/gtest.h>

#include <sstream>

#include "agent/cli/commands.h"
#include "support/process.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

using namespace kc::cli;

class SerfOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("serf")) GTEST_SKIP() << "serf is not installed";
    h.agent.member_list.push_back(
        make_member("kong-2_0.0.0.0:7946_0123456789abcdef0123456789abcdef", {10, 0, 0, 2}, 7946,
                    {{"role", "kong"}, {"dc", "eu"}}));
    h.agent.member_list.push_back(make_member("gone", {10, 0, 0, 3}, 7946, {}, "failed"));
  }
  ServerHarness h;
  std::ostringstream out, err;
  Io io{out, err};
  RpcOptions rpc() { return {h.addr(), ""}; }

  CommandResult serf(std::vector<std::string> args) {
    std::vector<std::string> argv = {"serf", args.at(0), "-rpc-addr=" + h.addr()};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return run_command(argv, 30000);
  }
  // Runs ours, returns stdout + stderr as serf's combined output would show them.
  template <typename F>
  std::pair<int, std::string> ours(F&& f) {
    out.str("");
    err.str("");
    int code = f();
    return {code, out.str() + err.str()};
  }
};

TEST_F(SerfOutput, MembersJson) {
  auto theirs = serf({"members", "-format=json"});
  MembersOptions o;
  o.rpc = rpc();
  o.format = "serf-json";
  auto [code, mine] = ours([&] { return run_members(o, io); });
  EXPECT_EQ(code, theirs.exit_code);
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, MembersJsonWhenNobodyMatches) {
  auto theirs = serf({"members", "-format=json", "-status=leaving"});
  MembersOptions o;
  o.rpc = rpc();
  o.format = "serf-json";
  o.status = "leaving";
  auto [code, mine] = ours([&] { return run_members(o, io); });
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, InfoTextAndJson) {
  InfoOptions o;
  o.rpc = rpc();
  auto theirs = serf({"info"});
  auto [code, mine] = ours([&] { return run_info(o, io); });
  EXPECT_EQ(mine, theirs.output);
  o.format = "json";
  theirs = serf({"info", "-format=json"});
  auto [code2, mine2] = ours([&] { return run_info(o, io); });
  EXPECT_EQ(mine2, theirs.output);
}

TEST_F(SerfOutput, Reachability) {
  auto theirs = serf({"reachability"});
  ReachabilityOptions o;
  o.rpc = rpc();
  auto [code, mine] = ours([&] { return run_reachability(o, io); });
  EXPECT_EQ(code, theirs.exit_code);
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, ReachabilityWithMissingAcks) {
  h.loop.on_loop(
      [&] { h.agent.no_ack = {"kong-2_0.0.0.0:7946_0123456789abcdef0123456789abcdef"}; });
  auto theirs = serf({"reachability"});
  ReachabilityOptions o;
  o.rpc = rpc();
  auto [code, mine] = ours([&] { return run_reachability(o, io); });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(code, theirs.exit_code);
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, KeysList) {
  h.agent.key_result = {"", {}, {{"S2V5MQ==", 2}, {"S2V5Mg==", 1}}, 3, 3, 0};
  // Go prints the keys in map order; make it deterministic with one key.
  h.agent.key_result.keys.erase("S2V5Mg==");
  auto theirs = serf({"keys", "-list"});
  KeysOptions o;
  o.rpc = rpc();
  o.list = true;
  auto [code, mine] = ours([&] { return run_keys(o, io); });
  EXPECT_EQ(code, theirs.exit_code);
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, KeysFailure) {
  h.agent.key_result = {"1/3 nodes reported failure", {{"gone", "no keyring"}}, {}, 3, 3, 1};
  auto theirs = serf({"keys", "-install", "S2V5MQ=="});
  KeysOptions o;
  o.rpc = rpc();
  o.install = "S2V5MQ==";
  auto [code, mine] = ours([&] { return run_keys(o, io); });
  EXPECT_EQ(code, theirs.exit_code);
  EXPECT_EQ(mine, theirs.output);
}

TEST_F(SerfOutput, QueryJoinEventLeave) {
  auto theirs = serf({"query", "-timeout=200ms", "whoami"});
  QueryOptions q;
  q.rpc = rpc();
  q.name = "whoami";
  q.timeout = "200ms";
  auto [code, mine] = ours([&] { return run_query(q, io); });
  EXPECT_EQ(mine, theirs.output);

  theirs = serf({"join", "10.0.0.9:7946"});
  JoinOptions j;
  j.rpc = rpc();
  j.addrs = {"10.0.0.9:7946"};
  auto [c2, mine2] = ours([&] { return run_join(j, io); });
  EXPECT_EQ(mine2, theirs.output);

  theirs = serf({"event", "-coalesce=false", "kong", "x"});
  EventOptions e;
  e.rpc = rpc();
  e.name = "kong";
  e.payload = "x";
  e.coalesce = false;
  auto [c3, mine3] = ours([&] { return run_event(e, io); });
  EXPECT_EQ(mine3, theirs.output);
}

}  // namespace
}  // namespace kc::test
