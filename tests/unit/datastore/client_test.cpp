// PgClient against a real Postgres: parameters, ordering, errors, transactions, outages.
#include <gtest/gtest.h>

#include "ds_test_util.h"

using namespace kc::datastore;
using kc::test::run_sql;
using kc::test::run_until;

namespace {

using PgClientTest = kc::test::FreshDatabaseTest;

}  // namespace

TEST_F(PgClientTest, ParametersTravelAsValuesNeverAsSql) {
  PgClient client(io_, config(), kc::test::fast_client());
  std::string hostile = "o'brien'); DROP TABLE nodes; --";
  auto r = run_sql(io_, client,
                   {"SELECT $1::text AS v, $2::text IS NULL AS n", {hostile, std::nullopt}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(r.statements[0].get(0, "v"), hostile);
  EXPECT_EQ(r.statements[0].get(0, "n"), "t");
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.metrics().up);
  EXPECT_EQ(client.metrics().connects, 1u);
}

TEST_F(PgClientTest, QueuedStatementsRunInOrder) {
  PgClient client(io_, config(), kc::test::fast_client());
  std::vector<int> order;
  for (int i = 0; i < 50; ++i)
    client.execute({"SELECT $1::int AS i", {std::to_string(i)}}, [&order](Result r) {
      ASSERT_TRUE(r.ok());
      order.push_back(std::stoi(*r.statements[0].get(0, "i")));
    });
  ASSERT_TRUE(run_until(io_, [&] { return order.size() == 50; }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(client.metrics().queries, 50u);
  EXPECT_GT(client.metrics().query_seconds_sum, 0.0);
}

TEST_F(PgClientTest, ServerErrorsNameHostDatabaseAndSqlstate) {
  PgClient client(io_, config(), kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT * FROM no_such_table", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::query);
  EXPECT_EQ(r.error->sqlstate, "42P01");
  EXPECT_EQ(r.error->host, "127.0.0.1");
  EXPECT_EQ(r.error->database, db_);
  EXPECT_NE(r.error->describe().find(db_), std::string::npos);
  EXPECT_NE(r.error->describe().find("no_such_table"), std::string::npos);
  EXPECT_EQ(client.metrics().query_errors, 1u);
  // The connection is still usable.
  EXPECT_TRUE(run_sql(io_, client, {"SELECT 1", {}}).ok());
}

TEST_F(PgClientTest, FailedTransactionRollsBackAndLeavesConnectionClean) {
  PgClient client(io_, config(), kc::test::fast_client());
  ASSERT_TRUE(run_sql(io_, client, {"CREATE TABLE t (v int PRIMARY KEY)", {}}).ok());
  std::optional<Result> tx;
  client.transaction({{"INSERT INTO t VALUES ($1)", {"1"}}, {"INSERT INTO t VALUES ($1)", {"1"}}},
                     [&](Result r) { tx = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return tx.has_value(); }));
  ASSERT_FALSE(tx->ok());
  EXPECT_EQ(tx->error->sqlstate, "23505");  // unique_violation
  auto count = run_sql(io_, client, {"SELECT count(*) AS c FROM t", {}});
  ASSERT_TRUE(count.ok()) << count.error->describe();  // not "current transaction is aborted"
  EXPECT_EQ(count.statements[0].get(0, "c"), "0");

  std::optional<Result> ok;
  client.transaction({{"INSERT INTO t VALUES ($1)", {"1"}}, {"INSERT INTO t VALUES ($1)", {"2"}}},
                     [&](Result r) { ok = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return ok.has_value(); }));
  ASSERT_TRUE(ok->ok());
  EXPECT_EQ(ok->statements.size(), 2u);  // BEGIN/COMMIT are not reported
  EXPECT_EQ(ok->statements[1].affected, 1u);
}

TEST_F(PgClientTest, NoServerMeansFastConnectErrors) {
  PgConfig c = config();
  c.port = kc::test::free_port();  // nothing listens there
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::connect);
  EXPECT_EQ(r.error->sqlstate, "08001");
  EXPECT_EQ(r.error->port, c.port);
  EXPECT_TRUE(r.error->unavailable());
  EXPECT_FALSE(client.metrics().up);
  EXPECT_GE(client.metrics().connect_failures, 1u);
  // While waiting to retry, jobs fail at once instead of queueing.
  auto again = run_sql(io_, client, {"SELECT 1", {}});
  EXPECT_FALSE(again.ok());
  ASSERT_TRUE(run_until(io_, [&] { return client.metrics().connect_failures >= 3; }));
}

TEST_F(PgClientTest, HostNameIsResolvedWithoutBlocking) {
  PgConfig c = config();
  c.host = "localhost";  // may resolve to ::1 first: every address is tried
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1 AS one", {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
}

TEST_F(PgClientTest, StatementTimeoutResetsConnectionThenRecovers) {
  auto options = kc::test::fast_client();
  options.query_timeout = std::chrono::milliseconds(300);
  PgClient client(io_, config(), options);
  auto slow = run_sql(io_, client, {"SELECT pg_sleep(10)", {}});
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error->kind, PgError::Kind::timeout);
  EXPECT_EQ(slow.error->sqlstate, "57014");
  ASSERT_TRUE(run_until(io_, [&] { return client.connected(); }));
  EXPECT_TRUE(run_sql(io_, client, {"SELECT 1", {}}).ok());
  EXPECT_EQ(client.metrics().disconnects, 1u);
}

TEST_F(PgClientTest, CloseFailsQueuedJobs) {
  PgClient client(io_, config(), kc::test::fast_client());
  std::vector<PgError::Kind> kinds;
  for (int i = 0; i < 3; ++i)
    client.execute({"SELECT 1", {}}, [&](Result r) {
      kinds.push_back(r.ok() ? PgError::Kind::query : r.error->kind);
    });
  client.close();
  ASSERT_TRUE(run_until(io_, [&] { return kinds.size() == 3; }));
  for (auto k : kinds) EXPECT_EQ(k, PgError::Kind::closed);
  auto after = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error->kind, PgError::Kind::closed);
}

TEST_F(PgClientTest, NoticesDoNotReachStderr) {
  PgClient client(io_, config(), kc::test::fast_client());
  ASSERT_TRUE(run_sql(io_, client, {"CREATE TABLE IF NOT EXISTS n (v int)", {}}).ok());
  ASSERT_TRUE(
      run_sql(io_, client, {"CREATE TABLE IF NOT EXISTS n (v int)", {}}).ok());  // NOTICE: skipping
}

// A server of its own: this test stops and restarts it.
TEST(PgClientOutage, ReconnectsWithBackoffWhenPostgresReturns) {
  KC_REQUIRE_POSTGRES();
  kc::test::PostgresFixture pg;
  boost::asio::io_context io;
  PgClient client(io, kc::test::config_for(pg, "kong"), kc::test::fast_client());
  std::vector<bool> events;
  client.subscribe([&](bool up) { events.push_back(up); });
  ASSERT_TRUE(run_sql(io, client, {"SELECT 1", {}}).ok());
  ASSERT_TRUE(run_until(io, [&] { return events == std::vector<bool>{true}; }));

  pg.stop();
  // The idle connection notices the shutdown by itself, before any statement.
  ASSERT_TRUE(run_until(io, [&] { return !client.metrics().up; }));
  auto down = run_sql(io, client, {"SELECT 1", {}});
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error->unavailable());
  EXPECT_NE(down.error->describe().find("127.0.0.1:" + std::to_string(pg.port())),
            std::string::npos);

  pg.start();
  ASSERT_TRUE(run_until(io, [&] { return client.connected(); }));
  EXPECT_TRUE(run_sql(io, client, {"SELECT 1", {}}).ok());
  EXPECT_EQ(events, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(client.metrics().connects, 2u);
  EXPECT_EQ(client.metrics().disconnects, 1u);
}

// Handlers still queued in the io_context must not touch a destroyed client.
TEST_F(PgClientTest, DestroyingWhileBusyIsSafe) {
  std::vector<PgError::Kind> kinds;
  {
    PgClient client(io_, config(), kc::test::fast_client());
    ASSERT_TRUE(run_sql(io_, client, {"SELECT 1", {}}).ok());
    for (int i = 0; i < 3; ++i)
      client.execute({"SELECT pg_sleep(0.2)", {}}, [&](Result r) {
        kinds.push_back(r.ok() ? PgError::Kind::query : r.error->kind);
      });
    io_.poll();  // the first statement is now on the wire
  }
  ASSERT_TRUE(run_until(io_, [&] { return kinds.size() == 3; }));
  for (auto k : kinds) EXPECT_EQ(k, PgError::Kind::closed);
  kc::test::run_for(io_, std::chrono::milliseconds(300));  // stale socket and timer completions
}
