// Agents that share a Postgres `nodes` table find each other without seeds, survive ghost
// rows, and keep the table honest: SIGTERM deletes the row, kill -9 leaves it to its TTL,
// a row deleted by hand comes back at the next keepalive.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/cluster_procs.h"
#include "support/own_postgres_test.h"
#include "support/wait.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

class AgentDatastore : public OwnPostgresTest {
 protected:
  GossipAgent::Options agent(const std::string& name) {
    GossipAgent::Options o;
    o.name = name;
    o.env = kong_env();
    return o;
  }

  // The agents create the table: until the first one has, there are no rows to see.
  std::vector<std::string> rows() { return nodes_rows("name || '=' || cluster_listening_address"); }
  bool has_row(const std::string& name) {
    for (auto& r : rows())
      if (r.rfind(name + "=", 0) == 0) return true;
    return false;
  }

  TempDir dir_;
};

}  // namespace

TEST_F(AgentDatastore, ThreeAgentsFindEachOtherThroughTheTable) {
  std::vector<std::unique_ptr<GossipAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(std::make_unique<GossipAgent>(dir_, agent("kong-" + std::to_string(i))));
    // One after another: each later one must find the earlier rows.
    ASSERT_TRUE(wait_until([&] { return has_row("kong-" + std::to_string(i)); }, 20s))
        << agents.back()->process().log();
  }
  for (auto& a : agents)
    ASSERT_TRUE(wait_until([&] { return a->alive_count() == 3; }, 30s)) << a->name();
  auto table = rows();
  ASSERT_EQ(table.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(table[i], agents[i]->name() + "=" + agents[i]->gossip_addr());
}

TEST_F(AgentDatastore, FiveAgentsStartedTogetherConverge) {
  std::vector<std::unique_ptr<GossipAgent>> agents;
  for (int i = 0; i < 5; ++i)
    agents.push_back(std::make_unique<GossipAgent>(dir_, agent("burst-" + std::to_string(i))));
  // On a failure, every agent's view and log: the one that sees too few, and the one it misses.
  auto every_log = [&] {
    std::string out;
    for (auto& other : agents)
      out += other->name() + " sees " + std::to_string(other->alive_count()) + ":\n" +
             other->process().log() + "\n";
    return out;
  };
  for (auto& a : agents)
    ASSERT_TRUE(wait_until([&] { return a->alive_count() == 5; }, 60s))
        << a->name() << " sees " << a->alive_count() << "\n"
        << every_log();
}

TEST_F(AgentDatastore, GhostRowsDoNotSlowAJoin) {
  GossipAgent first(dir_, agent("live-0"));
  ASSERT_TRUE(wait_until([&] { return has_row("live-0"); }, 20s));
  // Twenty rows of dead members, newer than the live one, pointing at closed ports.
  std::string sql;
  for (int i = 0; i < 20; ++i) {
    int port = free_port();
    sql += "INSERT INTO nodes(name, cluster_listening_address, created_at) VALUES ('ghost-" +
           std::to_string(i) + "', '127.0.0.1:" + std::to_string(port) +
           "', now() at time zone 'utc' + interval '1 minute');";
  }
  pg_->psql(sql, db_);
  auto started = std::chrono::steady_clock::now();
  GossipAgent second(dir_, agent("live-1"));
  ASSERT_TRUE(wait_until([&] { return second.alive_count() == 2; }, 30s)) << second.process().log();
  auto took = std::chrono::steady_clock::now() - started;
  // Reported, not asserted tightly: joins run in parallel, so ghosts cost one timeout at most.
  std::printf("joined past 20 ghost rows in %.2f s\n", std::chrono::duration<double>(took).count());
  EXPECT_LT(took, 15s);
}

TEST_F(AgentDatastore, SigtermDeletesRowKillLeavesItDeletedRowComesBack) {
  GossipAgent a(dir_, agent("row-a"));
  auto ob = agent("row-b");
  GossipAgent b(dir_, ob);
  ASSERT_TRUE(wait_until([&] { return has_row("row-a") && has_row("row-b"); }, 20s));
  ASSERT_TRUE(wait_until([&] { return a.alive_count() == 2; }, 30s));
  // kill -9: the row stays (until its TTL).
  b.process().kill9();
  ASSERT_TRUE(wait_until([&] { return a.status_of("row-b") == "failed"; }, 40s));
  EXPECT_TRUE(has_row("row-b"));
  // SIGTERM: a graceful leave deletes the row.
  a.process().signal(SIGTERM);
  EXPECT_EQ(a.process().wait_exit(20000), 0) << a.process().log();
  EXPECT_FALSE(has_row("row-a"));
}

TEST_F(AgentDatastore, DatastoreMetricsAreExported) {
  if (!have_program("curl")) GTEST_SKIP() << "curl is not installed";
  auto o = agent("metrics-a");
  int http = free_port();
  o.extra_args = {"--http-addr", "127.0.0.1:" + std::to_string(http)};
  GossipAgent a(dir_, o);
  ASSERT_TRUE(wait_until([&] { return has_row("metrics-a"); }, 20s)) << a.process().log();
  std::string url = "http://127.0.0.1:" + std::to_string(http) + "/metrics";
  std::string body;
  ASSERT_TRUE(wait_until(
      [&] {
        body = run_command({"curl", "-s", url}).output;
        return body.find("kong_cluster_datastore_registrations_total 1") != std::string::npos;
      },
      20s))
      << body;
  EXPECT_NE(body.find("kong_cluster_datastore_up 1"), std::string::npos) << body;
}

TEST_F(AgentDatastore, RowDeletedByHandIsReinsertedByKeepalive) {
  auto o = agent("keep-a");
  // A short keepalive keeps the test quick; the default is Kong's 30 s.
  o.env["KONG_CLUSTER_KEEPALIVE_INTERVAL"] = "1";
  GossipAgent a(dir_, o);
  ASSERT_TRUE(wait_until([&] { return has_row("keep-a"); }, 20s)) << a.process().log();
  // RETURNING proves the row was there and is gone now; a has_row() check after the DELETE
  // races the 1 s keepalive that is about to reinsert it.
  auto deleted = pg_->psql_lines("DELETE FROM nodes WHERE name = 'keep-a' RETURNING name", db_);
  ASSERT_FALSE(deleted.empty());
  ASSERT_EQ(deleted.front(), "keep-a");
  ASSERT_TRUE(wait_until([&] { return has_row("keep-a"); }, 20s)) << a.process().log();
}
