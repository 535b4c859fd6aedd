// Command-line parsing: GNU-style flags as documented, Kong's and serf's spellings, --help.
#include <gtest/gtest.h>

#include <sstream>

#include "agent/cli/commands.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

class Register : public ::testing::Test {
 protected:
  ServerHarness h;
  std::ostringstream out, err;

  // Parses and runs `args` the way the lead's main does; returns the exit code.
  int run(std::vector<std::string> args) {
    CLI::App app("kong-cluster");
    app.require_subcommand(1);
    int code = -1;
    kc::cli::register_commands(app, code, {out, err});
    std::vector<std::string> argv = {"kong-cluster"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> cargv;
    for (auto& a : argv) cargv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(cargv.size()), cargv.data());
    } catch (const CLI::ParseError& e) {
      return app.exit(e, out, err);
    }
    return code;
  }
  std::string rpc() { return "--rpc-addr=" + h.addr(); }
  bool called(const std::string& call) {
    auto calls = h.agent.calls();
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
};

TEST_F(Register, MembersWithGnuFlags) {
  EXPECT_EQ(run({"members", rpc(), "--status", "alive"}), 0) << err.str();
  EXPECT_EQ(out.str(), "r\t127.0.0.1:7949\talive\n");
  out.str("");
  EXPECT_EQ(run({"members", "--rpc-addr", h.addr(), "--format=json"}), 0);
  EXPECT_EQ(out.str().substr(0, 9), "{\"data\":[");
}

TEST_F(Register, EventCoalesceSpellings) {
  EXPECT_EQ(run({"event", rpc(), "--coalesce=false", "kong", "{}"}), 0) << err.str();
  EXPECT_TRUE(called("event kong {}"));
  EXPECT_EQ(run({"event", rpc(), "--no-coalesce", "a"}), 0);
  EXPECT_TRUE(called("event a "));
  EXPECT_EQ(run({"event", rpc(), "b", "x"}), 0);
  EXPECT_TRUE(called("event b x coalesce"));
}

TEST_F(Register, KeysBothStyles) {
  EXPECT_EQ(run({"keys", rpc(), "install", "S2V5"}), 0) << err.str();
  EXPECT_TRUE(called("install-key S2V5"));
  EXPECT_EQ(run({"keys", rpc(), "--use", "S2V5"}), 0) << err.str();
  EXPECT_TRUE(called("use-key S2V5"));
  EXPECT_EQ(run({"keys", rpc(), "list"}), 0);
  EXPECT_EQ(run({"keys", rpc(), "--list"}), 0);
  EXPECT_EQ(run({"keys", rpc(), "remove"}), 1);
  EXPECT_NE(err.str().find("missing key"), std::string::npos);
}

TEST_F(Register, ForceLeaveJoinTagsInfoAlias) {
  EXPECT_EQ(run({"force-leave", rpc(), "--prune", "old"}), 0) << err.str();
  EXPECT_TRUE(called("force-leave old prune"));
  EXPECT_EQ(run({"join", rpc(), "10.0.0.1:7946", "10.0.0.2:7946"}), 0);
  EXPECT_TRUE(called("join 10.0.0.1:7946,10.0.0.2:7946"));
  EXPECT_EQ(run({"tags", rpc(), "--set", "a=1", "--set", "b=2", "--delete", "role"}), 0);
  EXPECT_TRUE(called("set-tags a=1,b=2"));
  EXPECT_EQ(run({"stats", rpc()}), 0);
  EXPECT_EQ(run({"info", rpc(), "--format", "json"}), 0);
}

TEST_F(Register, RpcAddressFromTheEnvironment) {
  setenv("KONG_CLUSTER_RPC_ADDR", h.addr().c_str(), 1);
  EXPECT_EQ(run({"members"}), 0) << err.str();
  unsetenv("KONG_CLUSTER_RPC_ADDR");
  setenv("KONG_CLUSTER_LISTEN_RPC", h.addr().c_str(), 1);
  EXPECT_EQ(run({"members"}), 0) << err.str();
  unsetenv("KONG_CLUSTER_LISTEN_RPC");
}

TEST_F(Register, HelpEverywhere) {
  for (const char* cmd : {"members", "join", "force-leave", "leave", "event", "reachability",
                          "keygen", "keys", "query", "monitor", "info", "tags"}) {
    out.str("");
    EXPECT_EQ(run({cmd, "--help"}), 0) << cmd;
    EXPECT_NE(out.str().find(cmd), std::string::npos) << cmd << ": " << out.str();
  }
  out.str("");
  EXPECT_EQ(run({"members", "--help"}), 0);
  EXPECT_NE(out.str().find("--rpc-addr"), std::string::npos);
  EXPECT_NE(out.str().find("--status"), std::string::npos);
}

TEST_F(Register, UnknownFlagsAreParseErrors) {
  EXPECT_NE(run({"members", "--bogus"}), 0);
  EXPECT_FALSE(err.str().empty());
}

}  // namespace
}  // namespace kc::test
