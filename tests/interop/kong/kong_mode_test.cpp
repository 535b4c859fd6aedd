// `serf agent` as Kong starts it runs kong-cluster in Kong mode: Kong owns its `nodes` row,
// so the agent registers nothing even with Kong's KONG_PG_* in its environment (while a
// plain `kong-cluster agent` with the same environment does), and the pod's Kubernetes
// identity still works (pod IP advertised without -advertise, pod/namespace/uid tags,
// /metrics on KONG_CLUSTER_HTTP_LISTEN).
#include <gtest/gtest.h>

#include "support/cluster_procs.h"
#include "support/postgres_fixture.h"
#include "support/wait.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

class KongMode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!postgres_available())
      GTEST_SKIP() << "PostgreSQL 15 is not installed (hack/deps.sh installs it)";
    pg_ = std::make_unique<PostgresFixture>();
    db_ = pg_->create_database();
  }
  std::map<std::string, std::string> kong_env() {
    return {{"KONG_PG_HOST", pg_->host()},
            {"KONG_PG_PORT", std::to_string(pg_->port())},
            {"KONG_PG_USER", pg_->user()},
            {"KONG_PG_DATABASE", db_}};
  }
  std::vector<std::string> row_names() {
    try {
      return pg_->psql_lines("SELECT name FROM nodes ORDER BY name", db_);
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("does not exist") != std::string::npos) return {};
      throw;
    }
  }
  TempDir dir_;
  std::unique_ptr<PostgresFixture> pg_;
  std::string db_;
};

TEST_F(KongMode, RegistersNoRowAndKeepsThePodIdentity) {
  // A plain agent with Kong's datastore settings registers: the table and settings work.
  GossipAgent::Options control;
  control.name = "control";
  control.env = kong_env();
  GossipAgent plain(dir_, control);
  ASSERT_TRUE(wait_until([&] { return row_names() == std::vector<std::string>{"control"}; }, 30s))
      << plain.process().log();

  // Kong's agent line, with the pod's environment under it. Binding 0.0.0.0 as Kong's
  // default cluster_listen does, the member must advertise the pod IP (127.0.0.2 here).
  int gossip = free_port(), rpc = free_port(), http = free_port();
  std::string name = "kong-host_0.0.0.0:" + std::to_string(gossip) + "_0123456789abcdef";
  auto env = kong_env();
  env.insert({{"POD_NAME", "kong-abc12"},
              {"POD_NAMESPACE", "gateways"},
              {"POD_UID", "5e0c1d7a-1111-2222-3333-444455556666"},
              {"POD_IP", "127.0.0.2"},
              {"KONG_CLUSTER_HTTP_LISTEN", "127.0.0.1:" + std::to_string(http)}});
  Process kong({kong_cluster_binary().substr(0, kong_cluster_binary().rfind('/')) + "/serf",
                "agent", "-profile", "lan", "-node", name, "-bind",
                "0.0.0.0:" + std::to_string(gossip), "-rpc-addr=127.0.0.1:" + std::to_string(rpc),
                "-log-level", "err", "-event-handler", "member-join,user:kong=/bin/true"},
               dir_.path() + "/kong-serf.log", env);
  std::string ours = "127.0.0.1:" + std::to_string(rpc);
  ASSERT_TRUE(wait_until(
      [&] {
        return run_command({"serf", "join", "-rpc-addr=" + ours, plain.gossip_addr()}).exit_code ==
               0;
      },
      20s))
      << kong.log();
  ASSERT_TRUE(wait_until([&] { return plain.status_of(name) == "alive"; }, 30s)) << kong.log();

  auto seen = plain.members();
  ASSERT_TRUE(seen);
  const MemberView& m = seen->at(name);
  EXPECT_EQ(m.addr, "127.0.0.2:" + std::to_string(gossip));
  EXPECT_EQ(m.tags.at("pod"), "kong-abc12");
  EXPECT_EQ(m.tags.at("namespace"), "gateways");
  EXPECT_EQ(m.tags.at("uid"), "5e0c1d7a-1111-2222-3333-444455556666");

  auto metrics =
      run_command({"curl", "-sf", "http://127.0.0.1:" + std::to_string(http) + "/metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << kong.log();
  EXPECT_NE(metrics.output.find("kong_cluster_members"), std::string::npos) << metrics.output;
  // No datastore link at all: its series are exported from the moment it exists.
  EXPECT_EQ(metrics.output.find("kong_cluster_datastore_"), std::string::npos);
  // And no row for it: a plain agent's row appears within a second of its start, as
  // `control`'s did above.
  EXPECT_EQ(row_names(), std::vector<std::string>{"control"});
}

}  // namespace
