// NodesTable: Kong's row and TTL semantics, and compatibility with Kong's own SQL.
#include <gtest/gtest.h>

#include "datastore/schema.h"
#include "ds_test_util.h"

using namespace kc::datastore;
using namespace std::chrono_literals;
using kc::test::await;
using kc::test::run_until;

namespace {

class NodesTableTest : public kc::test::FreshDatabaseTest {
 protected:
  // Client and table over a migrated database (after an optional Kong schema).
  void open(bool kong_schema_first = false) {
    if (kong_schema_first) pg().psql(kc::test::kong010::schema_sql(), db_);
    client_ = std::make_unique<PgClient>(io_, config(), kc::test::fast_client());
    table_ = std::make_unique<NodesTable>(*client_);
    auto m = await<MigrationReport>(io_, [&](auto cb) { migrate(*client_, cb); });
    ASSERT_FALSE(m.error) << m.error->describe();
  }
  InsertOutcome insert(const std::string& name, const std::string& address,
                       std::chrono::seconds ttl) {
    auto r =
        await<InsertOutcome>(io_, [&](auto cb) { table_->insert_self(name, address, ttl, cb); });
    EXPECT_FALSE(r.error) << r.error->describe();
    return r.value;
  }
  std::vector<NodeRow> live() {
    auto r = await<std::vector<NodeRow>>(io_, [&](auto cb) { table_->live_nodes(cb); });
    EXPECT_FALSE(r.error) << r.error->describe();
    return r.value;
  }
  std::vector<std::string> live_names() {
    std::vector<std::string> names;
    for (auto& n : live()) names.push_back(n.name);
    return names;
  }
  PurgeOutcome purge(std::chrono::seconds orphan_ttl) {
    auto r = await<PurgeOutcome>(io_, [&](auto cb) { table_->purge_expired(orphan_ttl, cb); });
    EXPECT_FALSE(r.error) << r.error->describe();
    return r.value;
  }
  // Waits until a row with a short TTL has expired both for us and for Kong, whose
  // CURRENT_TIMESTAMP(0) rounds to the second (either way) and so may differ by a second.
  bool wait_expired(const std::string& name) {
    return kc::test::wait_until(
        [&] {
          return sql("SELECT count(*) FROM ttls WHERE primary_key_value = '" + name +
                     "' AND expire_at < CURRENT_TIMESTAMP(0) at time zone 'utc'"
                     " AND expire_at <= timezone('utc', now())") == "1\n";
        },
        10s, 100ms);
  }

  std::unique_ptr<PgClient> client_;
  std::unique_ptr<NodesTable> table_;
};

}  // namespace

TEST_F(NodesTableTest, InsertsAndReadsNewestFirst) {
  open();
  EXPECT_TRUE(insert("a", "10.0.0.1:7946", 3600s).created);
  insert("b", "10.0.0.2:7946", 3600s);
  insert("c", "10.0.0.3:7946", 3600s);
  auto rows = live();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "c");
  EXPECT_EQ(rows[1].name, "b");
  EXPECT_EQ(rows[2].name, "a");
  EXPECT_EQ(rows[0].address, "10.0.0.3:7946");
  ASSERT_TRUE(rows[0].expires_in);
  EXPECT_GT(rows[0].expires_in->count(), 3590);  // UTC everywhere, despite the server's TimeZone
  EXPECT_LE(rows[0].expires_in->count(), 3600);
  auto age = std::chrono::system_clock::now() - rows[0].created_at;
  EXPECT_LT(std::chrono::abs(age), 30s);
  // Kong's columns hold what Kong would have written.
  EXPECT_EQ(sql("SELECT primary_key_name || ',' || table_name || ',' || "
                "coalesce(primary_uuid_value::text, 'null')"
                " FROM ttls WHERE primary_key_value = 'a'"),
            "name,nodes,null\n");
}

TEST_F(NodesTableTest, InsertSelfIsAnUpsert) {
  open();
  insert("a", "10.0.0.1:7946", 3600s);
  auto again = insert("a", "10.0.0.9:7946", 3600s);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(sql("SELECT count(*) || ' ' || max(cluster_listening_address) FROM nodes"),
            "1 10.0.0.9:7946\n");
  EXPECT_EQ(sql("SELECT count(*) FROM ttls"), "1\n");
}

TEST_F(NodesTableTest, InsertRemovesGhostsHoldingOurAddress) {
  open();
  insert("old-pod", "10.0.0.5:7946", 3600s);
  auto out = insert("new-pod", "10.0.0.5:7946", 3600s);
  EXPECT_EQ(out.displaced, std::vector<std::string>{"old-pod"});
  EXPECT_EQ(live_names(), std::vector<std::string>{"new-pod"});
  EXPECT_EQ(sql("SELECT count(*) FROM ttls WHERE primary_key_value = 'old-pod'"), "0\n");
}

TEST_F(NodesTableTest, ExpiredRowsAreInvisibleThenPurged) {
  open();
  insert("short", "10.0.0.1:7946", 1s);
  insert("long", "10.0.0.2:7946", 3600s);
  ASSERT_TRUE(wait_expired("short"));
  EXPECT_EQ(live_names(), std::vector<std::string>{"long"});
  EXPECT_EQ(sql("SELECT count(*) FROM nodes"), "2\n");  // still stored, just not visible
  auto out = purge(0s);
  EXPECT_EQ(out.purged, std::vector<std::string>{"short"});
  EXPECT_EQ(sql("SELECT string_agg(name, ',') FROM nodes"), "long\n");
  EXPECT_EQ(sql("SELECT string_agg(primary_key_value, ',') FROM ttls"), "long\n");
  EXPECT_TRUE(purge(0s).purged.empty());
}

TEST_F(NodesTableTest, RefreshTtlExtendsOnlyExistingRows) {
  open();
  insert("a", "10.0.0.1:7946", 1s);
  ASSERT_TRUE(wait_expired("a"));
  EXPECT_TRUE(live().empty());
  // Expired but not yet purged: a refresh brings it back.
  auto r = await<bool>(io_, [&](auto cb) { table_->refresh_ttl("a", 3600s, cb); });
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.value);
  auto rows = live();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GT(rows[0].expires_in->count(), 3590);

  auto missing = await<bool>(io_, [&](auto cb) { table_->refresh_ttl("nobody", 3600s, cb); });
  ASSERT_FALSE(missing.error);
  EXPECT_FALSE(missing.value);
  EXPECT_EQ(sql("SELECT count(*) FROM ttls WHERE primary_key_value = 'nobody'"), "0\n");
}

TEST_F(NodesTableTest, DeleteRemovesRowAndTtl) {
  open();
  insert("a", "10.0.0.1:7946", 3600s);
  auto r = await<bool>(io_, [&](auto cb) { table_->delete_node("a", cb); });
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.value);
  EXPECT_EQ(sql("SELECT (SELECT count(*) FROM nodes) + (SELECT count(*) FROM ttls)"), "0\n");
  auto again = await<bool>(io_, [&](auto cb) { table_->delete_node("a", cb); });
  EXPECT_FALSE(again.value);
}

TEST_F(NodesTableTest, RowsWithoutTtlAreLiveUntilAdopted) {
  open();
  sql("INSERT INTO nodes(name, cluster_listening_address) VALUES ('manual', '10.0.0.8:7946')");
  auto rows = live();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].expires_in);  // Kong's rule: no ttls row, no expiry
  EXPECT_EQ(purge(0s).adopted, 0u);
  EXPECT_EQ(purge(120s).adopted, 1u);
  rows = live();
  ASSERT_TRUE(rows[0].expires_in);
  EXPECT_LE(rows[0].expires_in->count(), 120);
  EXPECT_EQ(purge(120s).adopted, 0u);
}

TEST_F(NodesTableTest, KongAndAgentSeeEachOthersRows) {
  open(/*kong_schema_first=*/true);
  sql(kc::test::kong010::insert_node_sql("kong-a_0.0.0.0:7946_1f", "10.0.0.1:7946", 3600));
  sql(kc::test::kong010::insert_node_sql("kong-dead_0.0.0.0:7946_2e", "10.0.0.2:7946", 1));
  insert("agent-b", "10.0.0.3:7946", 3600s);
  insert("agent-short", "10.0.0.4:7946", 1s);
  ASSERT_TRUE(wait_expired("kong-dead_0.0.0.0:7946_2e"));
  ASSERT_TRUE(wait_expired("agent-short"));

  // Our read hides Kong's expired row; Kong's read hides ours.
  auto names = live_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"agent-b", "kong-a_0.0.0.0:7946_1f"}));
  EXPECT_EQ(pg().psql_lines(kc::test::kong010::select_nodes_sql(), db_),
            (std::vector<std::string>{"agent-b", "kong-a_0.0.0.0:7946_1f"}));

  // Kong's cleanup timer deletes our expired row through the ttls columns we wrote.
  sql(kc::test::kong010::clear_expired_ttl_sql());
  EXPECT_EQ(sql("SELECT string_agg(name, ',' ORDER BY name) FROM nodes"),
            "agent-b,kong-a_0.0.0.0:7946_1f\n");
  EXPECT_EQ(sql("SELECT count(*) FROM ttls"), "2\n");

  // Kong's upsert_ttl() and our refresh agree on the same ttls row.
  sql("SELECT upsert_ttl('agent-b', NULL, 'name', 'nodes', timezone('utc', now()) + interval '10 "
      "minutes')");
  auto rows = live();
  for (auto& r : rows)
    if (r.name == "agent-b") {
      EXPECT_LE(r.expires_in->count(), 600);
    }
}
