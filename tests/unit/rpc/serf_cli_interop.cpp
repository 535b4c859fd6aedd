// Debian's real `serf` 0.9.4 CLI against our RPC server (with the fake agent behind it):
// every client command a Kong 0.x node or an operator runs must work unchanged.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/wait.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

class SerfCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("serf")) GTEST_SKIP() << "serf is not installed";
  }
  ServerHarness h{"s3cret"};

  CommandResult serf(std::vector<std::string> args, bool auth = true) {
    std::vector<std::string> argv = {"serf"};
    argv.push_back(args.at(0));
    argv.push_back("-rpc-addr=" + h.addr());
    if (auth) argv.push_back("-rpc-auth=s3cret");
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return run_command(argv, 30000);
  }
  static bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
  bool called(const std::string& call) {
    auto calls = h.agent.calls();
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
};

TEST_F(SerfCli, Members) {
  h.agent.member_list.push_back(make_member("b", {10, 0, 0, 2}, 7946, {{"role", "web"}}, "failed"));
  auto r = serf({"members"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "r  127.0.0.1:7949  alive   role=rpc")) << r.output;
  EXPECT_TRUE(has(r.output, "b  10.0.0.2:7946   failed  role=web")) << r.output;

  r = serf({"members", "-detailed", "-status=alive"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Protocol Version: 5  Available Protocol Range: [2, 5]")) << r.output;
  EXPECT_FALSE(has(r.output, "10.0.0.2")) << r.output;

  r = serf({"members", "-tag", "role=w.b"});
  EXPECT_TRUE(has(r.output, "b  10.0.0.2:7946  failed")) << r.output;
  EXPECT_FALSE(has(r.output, "127.0.0.1")) << r.output;
}

TEST_F(SerfCli, MembersJsonAsKongParsedIt) {
  auto r = serf({"members", "-format=json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["members"].size(), 1u);
  EXPECT_EQ(j["members"][0]["name"], "r");
  EXPECT_EQ(j["members"][0]["addr"], "127.0.0.1:7949");
  EXPECT_EQ(j["members"][0]["port"], 7949);
  EXPECT_EQ(j["members"][0]["status"], "alive");
  EXPECT_EQ(j["members"][0]["tags"]["role"], "rpc");
  EXPECT_EQ(j["members"][0]["protocol"]["version"], 5);
}

TEST_F(SerfCli, AuthIsEnforced) {
  auto r = serf({"members"}, /*auth=*/false);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "Authentication required")) << r.output;
  std::vector<std::string> argv = {"serf", "members", "-rpc-addr=" + h.addr(), "-rpc-auth=nope"};
  r = run_command(argv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "Invalid authentication token")) << r.output;
}

TEST_F(SerfCli, JoinForceLeaveEventTags) {
  auto r = serf({"join", "10.0.0.1:7946", "10.0.0.2:7946"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Successfully joined cluster by contacting 1 nodes.")) << r.output;
  EXPECT_TRUE(called("join 10.0.0.1:7946,10.0.0.2:7946"));

  r = serf({"force-leave", "-prune", "gone"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(called("force-leave gone prune"));
  r = serf({"force-leave", "gone2"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(called("force-leave gone2"));

  r = serf({"event", "deploy", "hello-world"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Event 'deploy' dispatched! Coalescing enabled: true")) << r.output;
  EXPECT_TRUE(called("event deploy hello-world coalesce"));
  // Kong's own invocation
  r = serf({"event", "-coalesce=false", "kong", "{\"type\":\"ENTITY_UPDATED\"}"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(called("event kong {\"type\":\"ENTITY_UPDATED\"}"));

  r = serf({"tags", "-set", "zone=a", "-delete", "role"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Successfully updated agent tags")) << r.output;
  EXPECT_TRUE(called("set-tags zone=a"));
}

TEST_F(SerfCli, ErrorsComeBackAsSerfPrintsThem) {
  h.agent.join_error = "1 error occurred:\n\t* Failed to join 10.0.0.1: dial tcp: i/o timeout";
  auto r = serf({"join", "10.0.0.1:7946"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "Error joining the cluster: 1 error occurred")) << r.output;
}

TEST_F(SerfCli, Keys) {
  h.agent.key_result = {"", {}, {{"a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", 1}}, 1, 1, 0};
  auto r = serf({"keys", "-list"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=  [1/1]")) << r.output;

  h.agent.key_result = {"1/1 nodes reported failure",
                        {{"r", "No keyring to modify (encryption not enabled)"}},
                        {},
                        1,
                        1,
                        1};
  r = serf({"keys", "-install", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "failed:  r  No keyring to modify (encryption not enabled)"))
      << r.output;
  EXPECT_TRUE(has(r.output, "Error installing key: 1/1 nodes reported failure")) << r.output;
}

TEST_F(SerfCli, Reachability) {
  h.agent.member_list.push_back(make_member("b", {10, 0, 0, 2}, 7946));
  h.agent.member_list.push_back(make_member("c", {10, 0, 0, 3}, 7946, {}, "failed"));
  auto r = serf({"reachability", "-verbose"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Total members: 3, live members: 2")) << r.output;
  EXPECT_TRUE(has(r.output, "\tAck from 'r'")) << r.output;
  EXPECT_TRUE(has(r.output, "\tAck from 'b'")) << r.output;
  EXPECT_TRUE(has(r.output, "Successfully contacted all live nodes")) << r.output;
  EXPECT_TRUE(called("query _serf_ping ack"));

  h.loop.on_loop([&] { h.agent.no_ack = {"b"}; });
  r = serf({"reachability"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "Received less acks than live nodes! Missing acks from:\n\tb"))
      << r.output;
}

TEST_F(SerfCli, Query) {
  auto r = serf({"query", "-timeout=300ms", "whoami", "x"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Query 'whoami' dispatched")) << r.output;
  EXPECT_TRUE(has(r.output, "Ack from 'r'")) << r.output;
  EXPECT_TRUE(has(r.output, "Total Acks: 1")) << r.output;
  EXPECT_TRUE(has(r.output, "Total Responses: 0")) << r.output;
}

TEST_F(SerfCli, InfoAndRtt) {
  auto r = serf({"info"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "agent:\n\tname = r\n")) << r.output;
  EXPECT_TRUE(has(r.output, "\tencrypted = false")) << r.output;
  r = serf({"info", "-format=json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["serf"]["members"], "1");
  r = serf({"rtt", "r"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Estimated r <-> r rtt: 0.020 ms" /* two heights of 1e-5 s */))
      << r.output;
  r = serf({"rtt", "nobody"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

TEST_F(SerfCli, MonitorShowsLogsAndEventsUntilInterrupted) {
  kc::log::get("interop")->info("marker before monitor");
  TempDir dir;
  Process p({"serf", "monitor", "-rpc-addr=" + h.addr(), "-rpc-auth=s3cret", "-log-level=debug"},
            dir.path() + "/monitor.log");
  // The replay of recent lines shows up first.
  ASSERT_TRUE(wait_until([&] { return has(p.log(), "interop: marker before monitor"); }))
      << p.log();
  ASSERT_TRUE(wait_until([&] { return h.agent.subscribers() == 1; }));
  kc::log::get("interop")->warn("marker while monitoring");
  h.agent.emit_later(UserEvent{7, "deploy", {'v', '2'}, true});
  ASSERT_TRUE(wait_until([&] {
    auto log = p.log();
    return has(log, "[WARN] interop: marker while monitoring") && has(log, "Event Info:") &&
           has(log, "\"deploy\"");
  })) << p.log();
  p.signal(SIGINT);
  EXPECT_EQ(p.wait_exit(10000), 0) << p.log();
  EXPECT_TRUE(wait_until([&] { return h.agent.subscribers() == 0; }));
}

TEST_F(SerfCli, LeaveShutsDown) {
  auto r = serf({"leave"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "Graceful leave complete")) << r.output;
  EXPECT_TRUE(wait_until([&] { return h.agent.shutdown_called(); }));
}

}  // namespace
}  // namespace kc::test
