// The subcommands against our RPC server and the fake agent: exact output and exit codes.
#include "agent/cli/commands.h"

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <csignal>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/process.h"
#include "support/wait.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

using namespace kc::cli;

// An output stream another thread may write while the test reads it.
class SyncBuf : public std::stringbuf {
 public:
  std::string text() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return str();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return std::stringbuf::overflow(c);
  }

 private:
  std::recursive_mutex mu_;  // xsputn may call overflow
};

class Commands : public ::testing::Test {
 protected:
  ServerHarness h{"s3cret"};
  std::ostringstream out, err;
  Io io{out, err};
  RpcOptions rpc() { return {h.addr(), "s3cret"}; }
  bool called(const std::string& call) {
    auto calls = h.agent.calls();
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
};

TEST_F(Commands, MembersInKongsFormat) {
  h.agent.member_list.push_back(make_member("b", {10, 0, 0, 2}, 7946, {{"role", "web"}}, "failed"));
  MembersOptions o;
  o.rpc = rpc();
  EXPECT_EQ(run_members(o, io), 0) << err.str();
  EXPECT_EQ(out.str(), "r\t127.0.0.1:7949\talive\nb\t10.0.0.2:7946\tfailed\n");

  out.str("");
  o.status = "failed";
  EXPECT_EQ(run_members(o, io), 0);
  EXPECT_EQ(out.str(), "b\t10.0.0.2:7946\tfailed\n");

  out.str("");
  o.status = "";
  o.tags = {"role=rp."};
  o.detailed = true;
  EXPECT_EQ(run_members(o, io), 0);
  EXPECT_EQ(out.str(), "r\t127.0.0.1:7949\talive\trole=rpc\tprotocol 5 [2,5]\n");
}

TEST_F(Commands, MembersJsonIsKongsClusterShape) {
  MembersOptions o;
  o.rpc = rpc();
  o.format = "json";
  EXPECT_EQ(run_members(o, io), 0);
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["data"][0]["name"], "r");
  EXPECT_EQ(j["data"][0]["address"], "127.0.0.1:7949");
  EXPECT_EQ(j["data"][0]["status"], "alive");
  o.format = "xml";
  EXPECT_EQ(run_members(o, io), 1);
  EXPECT_NE(err.str().find("Invalid output format \"xml\""), std::string::npos);
}

TEST_F(Commands, ConnectionErrorsNameTheAddressAndHint) {
  MembersOptions o;
  o.rpc = {"127.0.0.1:" + std::to_string(free_port()), ""};
  EXPECT_EQ(run_members(o, io), 1);
  std::string e = err.str();
  EXPECT_NE(e.find("Error connecting to Serf agent at " + o.rpc.addr), std::string::npos) << e;
  EXPECT_NE(e.find("Connection refused"), std::string::npos) << e;
  EXPECT_NE(e.find("--rpc-addr"), std::string::npos) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << "one line, as Kong's wrapper shows one";

  err.str("");
  o.rpc = {h.addr(), "wrong"};
  EXPECT_EQ(run_members(o, io), 1);
  EXPECT_NE(err.str().find("Invalid authentication token (check --rpc-auth"), std::string::npos)
      << err.str();

  err.str("");
  o.rpc = {h.addr(), ""};
  EXPECT_EQ(run_members(o, io), 1);
  EXPECT_EQ(err.str(), "Error retrieving members: Authentication required\n");
}

TEST_F(Commands, JoinForceLeaveLeave) {
  JoinOptions j;
  j.rpc = rpc();
  EXPECT_EQ(run_join(j, io), 1);
  EXPECT_EQ(err.str(), "At least one address to join must be specified.\n");
  j.addrs = {"10.0.0.1:7946"};
  EXPECT_EQ(run_join(j, io), 0);
  EXPECT_EQ(out.str(), "Successfully joined cluster by contacting 1 nodes.\n");

  h.loop.on_loop([&] { h.agent.join_error = "Failed to join 10.0.0.1: refused"; });
  err.str("");
  EXPECT_EQ(run_join(j, io), 1);
  EXPECT_EQ(err.str(), "Error joining the cluster: Failed to join 10.0.0.1: refused\n");

  out.str("");
  err.str("");
  ForceLeaveOptions f;
  f.rpc = rpc();
  EXPECT_EQ(run_force_leave(f, io), 1);
  EXPECT_EQ(err.str(), "must specify the name of the node to leave\n");
  f.node = "old";
  EXPECT_EQ(run_force_leave(f, io), 0);
  EXPECT_EQ(out.str(), "force-leaving old\nleft node old\n");
  f.prune = true;
  EXPECT_EQ(run_force_leave(f, io), 0);
  EXPECT_TRUE(called("force-leave old prune"));

  out.str("");
  EXPECT_EQ(run_leave(rpc(), io), 0);
  EXPECT_EQ(out.str(), "Graceful leave complete\n");
  EXPECT_TRUE(wait_until([&] { return h.agent.shutdown_called(); }));
}

TEST_F(Commands, Event) {
  EventOptions e;
  e.rpc = rpc();
  EXPECT_EQ(run_event(e, io), 1);
  EXPECT_EQ(err.str(), "An event name must be specified.\n");
  e.name = "kong";
  e.payload = "{\"type\":\"ENTITY_DELETED\"}";
  e.coalesce = false;
  EXPECT_EQ(run_event(e, io), 0);
  EXPECT_EQ(out.str(), "Event 'kong' dispatched! Coalescing enabled: false\n");
  EXPECT_TRUE(called("event kong {\"type\":\"ENTITY_DELETED\"}"));

  h.loop.on_loop([&] {
    h.agent.event_error = "user event exceeds configured limit of 512 bytes before encoding";
  });
  err.str("");
  EXPECT_EQ(run_event(e, io), 1);
  EXPECT_EQ(
      err.str(),
      "Error sending event: user event exceeds configured limit of 512 bytes before encoding\n");
}

TEST_F(Commands, ReachabilityLikeSerf) {
  h.agent.member_list.push_back(make_member("b", {10, 0, 0, 2}, 7946));
  h.agent.member_list.push_back(make_member("c", {10, 0, 0, 3}, 7946, {}, "left"));
  ReachabilityOptions o;
  o.rpc = rpc();
  EXPECT_EQ(run_reachability(o, io), 0) << err.str();
  EXPECT_EQ(out.str(),
            "Total members: 3, live members: 2\n"
            "Starting reachability test...\n"
            "Successfully contacted all live nodes\n");

  out.str("");
  o.verbose = true;
  h.loop.on_loop([&] { h.agent.no_ack = {"b"}; });
  EXPECT_EQ(run_reachability(o, io), 1);
  std::string s = out.str();
  EXPECT_EQ(
      s.find("Total members: 3, live members: 2\nStarting reachability test...\n\tAck from 'r'\n"
             "Query time: "),
      0u)
      << s;
  EXPECT_NE(s.find("Received less acks than live nodes! Missing acks from:\n\tb\n"
                   "This could mean Serf gossip packets are being lost"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("Troubleshooting tips:"), std::string::npos);
}

TEST_F(Commands, KeysKongAndSerfStyles) {
  h.agent.key_result = {"", {}, {{"S2V5MQ==", 2}, {"S2V5Mg==", 1}}, 2, 2, 0};
  KeysOptions o;
  o.rpc = rpc();
  o.action = "list";
  EXPECT_EQ(run_keys(o, io), 0) << err.str();
  EXPECT_EQ(out.str(),
            "==> Asking all members for installed keys...\n"
            "==> Keys gathered, listing cluster keys...\n"
            "\n"
            "S2V5MQ==  [2/2]\n"
            "S2V5Mg==  [1/2]\n");

  out.str("");
  KeysOptions s;
  s.rpc = rpc();
  s.install = "S2V5Mw==";
  EXPECT_EQ(run_keys(s, io), 0);
  EXPECT_EQ(out.str(), "==> Installing key on all members...\n==> Successfully installed key!\n");
  EXPECT_TRUE(called("install-key S2V5Mw=="));

  out.str("");
  KeysOptions use;
  use.rpc = rpc();
  use.action = "use";
  use.key = "S2V5Mw==";
  EXPECT_EQ(run_keys(use, io), 0);
  EXPECT_TRUE(called("use-key S2V5Mw=="));

  h.loop.on_loop([&] {
    h.agent.key_result = {"1/2 nodes reported failure",
                          {{"b", "Removing the primary key is not allowed"}},
                          {},
                          2,
                          2,
                          1};
  });
  out.str("");
  KeysOptions rm;
  rm.rpc = rpc();
  rm.action = "remove";
  rm.key = "S2V5MQ==";
  EXPECT_EQ(run_keys(rm, io), 1);
  EXPECT_EQ(out.str(), "==> Removing key on all members...\n");
  EXPECT_EQ(err.str(),
            "failed:  b  Removing the primary key is not allowed\n"
            "\nError removing key: 1/2 nodes reported failure\n");
}

TEST_F(Commands, KeysArgumentErrors) {
  KeysOptions o;
  o.rpc = rpc();
  o.action = "rotate";
  EXPECT_EQ(run_keys(o, io), 1);
  EXPECT_EQ(err.str(), "invalid command\n");
  err.str("");
  o.action = "install";
  EXPECT_EQ(run_keys(o, io), 1);
  EXPECT_EQ(err.str(), "missing key\n");
  err.str("");
  o.action = "list";
  o.install = "x";
  EXPECT_EQ(run_keys(o, io), 1);
  EXPECT_EQ(err.str(), "Only one of install, use, remove, or list allowed\n");
  EXPECT_TRUE(h.agent.calls().empty());
}

TEST_F(Commands, Keygen) {
  EXPECT_EQ(run_keygen(io), 0);
  std::string key = out.str();
  ASSERT_EQ(key.size(), 45u);  // 44 base64 characters for 32 bytes, and a newline
  EXPECT_EQ(key.substr(43), "=\n");
  out.str("");
  run_keygen(io);
  EXPECT_NE(out.str(), key);
}

TEST_F(Commands, Query) {
  QueryOptions o;
  o.rpc = rpc();
  o.name = "whoami";
  o.timeout = "300ms";
  EXPECT_EQ(run_query(o, io), 0) << err.str();
  EXPECT_EQ(out.str(),
            "Query 'whoami' dispatched\nAck from 'r'\nTotal Acks: 1\nTotal Responses: 0\n");
  out.str("");
  o.format = "json";
  EXPECT_EQ(run_query(o, io), 0);
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["Acks"][0], "r");
  o.timeout = "soon";
  EXPECT_EQ(run_query(o, io), 1);
  o.timeout = "";
  o.name = "_serf_conflict";
  err.str("");
  EXPECT_EQ(run_query(o, io), 1);
  EXPECT_EQ(err.str(), "Error sending query: Queries cannot contain the '_serf_' prefix\n");
}

TEST_F(Commands, InfoAndTags) {
  InfoOptions i;
  i.rpc = rpc();
  EXPECT_EQ(run_info(i, io), 0);
  EXPECT_EQ(out.str().rfind("agent:\n\tname = r\nevent_handlers:\nruntime:\n", 0), 0u) << out.str();
  out.str("");
  i.format = "json";
  EXPECT_EQ(run_info(i, io), 0);
  EXPECT_EQ(nlohmann::json::parse(out.str())["agent"]["name"], "r");

  out.str("");
  TagsOptions t;
  t.rpc = rpc();
  EXPECT_EQ(run_tags(t, io), 1);
  t.set = {"zone=b"};
  t.del = {"role"};
  EXPECT_EQ(run_tags(t, io), 0);
  EXPECT_EQ(out.str(), "Successfully updated agent tags\n");
  EXPECT_TRUE(called("set-tags zone=b"));
  t.set = {"broken"};
  err.str("");
  EXPECT_EQ(run_tags(t, io), 1);
  EXPECT_EQ(err.str(), "Error: Invalid tag: 'broken'\n");
}

TEST_F(Commands, MonitorEndsWhenTheAgentGoesAway) {
  kc::log::get("clitest")->info("before the monitor");
  SyncBuf buf;
  std::ostream sync_out(&buf);
  MonitorOptions o;
  o.rpc = rpc();
  int code = -1;
  std::thread t([&] { code = run_monitor(o, Io{sync_out, err}); });
  ASSERT_TRUE(wait_until([&] { return h.agent.subscribers() == 1; }));
  h.agent.emit_later(UserEvent{3, "deploy", {'x'}, false});
  ASSERT_TRUE(wait_until([&] {
    auto s = buf.text();
    return s.find("clitest: before the monitor") != std::string::npos &&
           s.find("\tName: \"deploy\"") != std::string::npos;
  })) << buf.text();
  h.loop.on_loop([&] { h.server->stop(); });
  t.join();
  EXPECT_EQ(code, 1);
  EXPECT_NE(buf.text().find("Remote side ended the monitor!"), std::string::npos) << buf.text();
}

TEST_F(Commands, MonitorStopsCleanlyOnSigint) {
  MonitorOptions o;
  o.rpc = rpc();
  int code = -1;
  std::thread t([&] { code = run_monitor(o, io); });
  // The client installs its signal handler before it starts the stream.
  ASSERT_TRUE(wait_until([&] { return h.agent.subscribers() == 1; }));
  ::kill(::getpid(), SIGINT);
  t.join();
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(wait_until([&] { return h.agent.subscribers() == 0; }));
}

}  // namespace
}  // namespace kc::test
