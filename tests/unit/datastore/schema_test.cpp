// Migrations: created when absent, idempotent, and harmless on a schema Kong 0.10 made.
#include "datastore/schema.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "ds_test_util.h"

using namespace kc::datastore;
using kc::test::run_until;

namespace {

// Everything about the schema that a migration could change, one line per item.
std::string snapshot_sql(bool with_kong_migrations) {
  std::string sql =
      "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
      " SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '"
      "   || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x"
      " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
      " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
      " WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
      " UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
      " UNION ALL SELECT p.proname || pg_get_function_arguments(p.oid) || md5(p.prosrc)"
      "   FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace";
  if (with_kong_migrations)
    sql += " UNION ALL SELECT id || array_to_string(migrations, ',') FROM schema_migrations";
  return sql + ") s";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

class SchemaTest : public kc::test::FreshDatabaseTest {
 protected:
  kc::test::Outcome<MigrationReport> run_migrate(PgClient& client) {
    return kc::test::await<MigrationReport>(io_, [&](auto cb) { migrate(client, cb); });
  }
};

}  // namespace

TEST_F(SchemaTest, CreatesKongTablesAndRecordsVersion) {
  PgClient client(io_, config(), kc::test::fast_client());
  auto r = run_migrate(client);
  ASSERT_FALSE(r.error) << r.error->describe();
  EXPECT_TRUE(r.value.created_nodes);
  EXPECT_TRUE(r.value.created_ttls);
  EXPECT_EQ(r.value.recorded_version, kSchemaVersion);

  auto cols = pg().psql_lines(
      "SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns"
      " WHERE table_name IN ('nodes', 'ttls') ORDER BY table_name, ordinal_position",
      db_);
  EXPECT_EQ(cols, (std::vector<std::string>{
                      "nodes.name:text",
                      "nodes.cluster_listening_address:text",
                      "nodes.created_at:timestamp without time zone",
                      "ttls.primary_key_value:text",
                      "ttls.primary_uuid_value:uuid",
                      "ttls.table_name:text",
                      "ttls.primary_key_name:text",
                      "ttls.expire_at:timestamp without time zone",
                  }));
  EXPECT_EQ(
      pg().psql(
          "SELECT count(*) FROM pg_indexes WHERE indexname = 'nodes_cluster_listening_address_idx'",
          db_),
      "1\n");
  EXPECT_EQ(pg().psql("SELECT version FROM kong_cluster_schema WHERE component = 'nodes'", db_),
            std::to_string(kSchemaVersion) + "\n");
}

TEST_F(SchemaTest, IsIdempotent) {
  PgClient client(io_, config(), kc::test::fast_client());
  ASSERT_FALSE(run_migrate(client).error);
  auto before = pg().psql(snapshot_sql(false), db_);
  auto again = run_migrate(client);
  ASSERT_FALSE(again.error) << again.error->describe();
  EXPECT_FALSE(again.value.created_nodes);
  EXPECT_FALSE(again.value.created_ttls);
  EXPECT_EQ(again.value.recorded_version, kSchemaVersion);
  auto after = pg().psql(snapshot_sql(false), db_);
  EXPECT_EQ(before, after);
}

TEST_F(SchemaTest, LeavesASchemaKongCreatedUntouched) {
  pg().psql(kc::test::kong010::schema_sql(), db_);
  pg().psql(kc::test::kong010::insert_node_sql("kong-node_0.0.0.0:7946_abc", "10.0.0.7:7946", 3600),
            db_);
  auto before = lines_of(pg().psql(snapshot_sql(true), db_));

  PgClient client(io_, config(), kc::test::fast_client());
  auto r = run_migrate(client);
  ASSERT_FALSE(r.error) << r.error->describe();
  EXPECT_FALSE(r.value.created_nodes);
  EXPECT_FALSE(r.value.created_ttls);

  // Only our own version table is new; Kong's tables, index, function and migration
  // record are exactly as Kong left them, and so is Kong's row.
  auto after = lines_of(pg().psql(snapshot_sql(true), db_));
  std::set<std::string> old_lines(before.begin(), before.end());
  std::vector<std::string> added;
  for (auto& line : after)
    if (!old_lines.count(line)) added.push_back(line);
  EXPECT_EQ(after.size(), before.size() + added.size());  // nothing removed or changed
  EXPECT_FALSE(added.empty());
  for (auto& line : added) EXPECT_NE(line.find("kong_cluster_schema"), std::string::npos) << line;
  EXPECT_EQ(pg().psql("SELECT cluster_listening_address FROM nodes", db_), "10.0.0.7:7946\n");
}

TEST_F(SchemaTest, ConcurrentAgentsMigrateTogether) {
  std::vector<std::unique_ptr<PgClient>> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(std::make_unique<PgClient>(io_, config(), kc::test::fast_client()));
  int done = 0, failed = 0;
  for (auto& c : clients)
    migrate(*c, [&](const std::optional<PgError>& e, MigrationReport) {
      ++done;
      if (e) {
        ++failed;
        ADD_FAILURE() << e->describe();
      }
    });
  ASSERT_TRUE(run_until(io_, [&] { return done == 5; }));
  EXPECT_EQ(failed, 0);
}

// A database user that may read and write Kong's tables but create nothing (PG 15 gives
// non-owners no CREATE on schema public): the agent works; only the version is unrecorded.
TEST_F(SchemaTest, WorksForAUserWithoutCreateRights) {
  pg().psql(kc::test::kong010::schema_sql(), db_);
  pg().psql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kong_app') THEN"
      " CREATE ROLE kong_app LOGIN; END IF; END $$",
      "postgres", "postgres");
  pg().psql("GRANT SELECT, INSERT, UPDATE, DELETE ON nodes, ttls TO kong_app", db_);
  auto as_app = config();
  as_app.user = "kong_app";
  PgClient client(io_, as_app, kc::test::fast_client());
  auto r = run_migrate(client);
  ASSERT_FALSE(r.error) << r.error->describe();
  EXPECT_EQ(r.value.recorded_version, 0);

  NodesTable table(client);
  auto ins = kc::test::await<InsertOutcome>(io_, [&](auto cb) {
    table.insert_self("app-node", "10.0.0.9:7946", std::chrono::seconds(3600), cb);
  });
  ASSERT_FALSE(ins.error) << ins.error->describe();
  auto live = kc::test::await<std::vector<NodeRow>>(io_, [&](auto cb) { table.live_nodes(cb); });
  ASSERT_EQ(live.value.size(), 1u);
}

TEST_F(SchemaTest, RefusesTablesThatAreNotKongs) {
  pg().psql("CREATE TABLE nodes (id integer PRIMARY KEY, address text)", db_);
  PgClient client(io_, config(), kc::test::fast_client());
  auto r = run_migrate(client);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->sqlstate, "42703");
  EXPECT_NE(r.error->message.find("nodes.cluster_listening_address"), std::string::npos)
      << r.error->message;
  EXPECT_NE(r.error->describe().find(db_), std::string::npos);
  // Not altered, and the transaction left nothing behind.
  EXPECT_EQ(
      pg().psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'nodes'", db_),
      "2\n");
  EXPECT_EQ(pg().psql("SELECT to_regclass('ttls') IS NULL", db_), "t\n");
}
