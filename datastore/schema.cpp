#include "datastore/schema.h"

#include "common/logging.h"

namespace kc::datastore {

const char* const kKongNodesDdl =
    "CREATE TABLE nodes("
    " name text,"
    " cluster_listening_address text,"
    " created_at timestamp without time zone default (CURRENT_TIMESTAMP(0) at time zone 'utc'),"
    " PRIMARY KEY (name))";

const char* const kKongNodesIndexDdl =
    "CREATE INDEX nodes_cluster_listening_address_idx ON nodes(cluster_listening_address)";

const char* const kKongTtlsDdl =
    "CREATE TABLE ttls("
    " primary_key_value text NOT NULL,"
    " primary_uuid_value uuid,"
    " table_name text NOT NULL,"
    " primary_key_name text NOT NULL,"
    " expire_at timestamp without time zone NOT NULL,"
    " PRIMARY KEY(primary_key_value, table_name))";

namespace {

// Only create what is missing (to_regclass), as Kong's own migrations do for indexes:
// CREATE ... IF NOT EXISTS would still demand CREATE rights on the schema. The index comes
// with a table we create; on an existing table it is Kong's business, not ours.
std::string create_missing_sql() {
  return std::string("DO $kc$ BEGIN\n") + "IF to_regclass('nodes') IS NULL THEN " + kKongNodesDdl +
         "; " + kKongNodesIndexDdl + "; END IF;\n" + "IF to_regclass('ttls') IS NULL THEN " +
         kKongTtlsDdl + "; END IF;\n" + "END $kc$";
}

// The version record is ours alone. A user allowed to use Kong's tables but not to create
// one of its own still gets a working agent; the missing record is reported, not fatal.
// The version read back travels in a transaction-local setting, because a plain SELECT on
// a table that may not exist would not even parse.
std::string record_version_sql() {
  return "DO $kc$ DECLARE v integer; BEGIN\n"
         "IF to_regclass('kong_cluster_schema') IS NULL THEN\n"
         "  CREATE TABLE kong_cluster_schema(component text PRIMARY KEY, version integer NOT "
         "NULL,\n"
         "    migrated_at timestamp without time zone NOT NULL DEFAULT timezone('utc', now()));\n"
         "END IF;\n"
         "INSERT INTO kong_cluster_schema(component, version) VALUES ('nodes', " +
         std::to_string(kSchemaVersion) +
         ")\n"
         "  ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version,\n"
         "    migrated_at = EXCLUDED.migrated_at WHERE kong_cluster_schema.version < "
         "EXCLUDED.version;\n"
         "SELECT version INTO v FROM kong_cluster_schema WHERE component = 'nodes';\n"
         "PERFORM set_config('kong_cluster.schema_version', v::text, true);\n"
         "EXCEPTION WHEN insufficient_privilege THEN\n"
         "  RAISE NOTICE 'kong-cluster: no privilege to record the schema version';\n"
         "END $kc$";
}

// Refuses, inside the transaction (so a refusal leaves nothing behind), tables named
// nodes/ttls that lack a column we use: someone else's tables, not Kong's.
const char* const kCheckColumnsSql = R"SQL(DO $kc$ DECLARE missing text; BEGIN
SELECT string_agg(r.t || '.' || r.c, ', ' ORDER BY r.t, r.c) INTO missing
FROM (VALUES ('nodes', 'name'), ('nodes', 'cluster_listening_address'), ('nodes', 'created_at'),
             ('ttls', 'primary_key_value'), ('ttls', 'primary_uuid_value'), ('ttls', 'table_name'),
             ('ttls', 'primary_key_name'), ('ttls', 'expire_at')) AS r(t, c)
WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(r.t)
                  AND a.attname = r.c AND a.attnum > 0 AND NOT a.attisdropped);
IF missing IS NOT NULL THEN
  RAISE EXCEPTION 'existing tables are not Kong 0.10''s: missing %', missing USING ERRCODE = 'undefined_column';
END IF;
END $kc$)SQL";

}  // namespace

void migrate(PgClient& client, MigrateHandler done) {
  std::vector<Statement> steps = {
      // Concurrent CREATE TABLE can fail on pg_type's unique index; agents starting
      // together take turns instead.
      {"SELECT pg_advisory_xact_lock(hashtext($1))", {"kong-cluster migrations"}},
      {"SELECT to_regclass('nodes') IS NOT NULL AS had_nodes, to_regclass('ttls') IS NOT NULL AS "
       "had_ttls",
       {}},
      {create_missing_sql(), {}},
      {kCheckColumnsSql, {}},
      {record_version_sql(), {}},
      {"SELECT current_setting('kong_cluster.schema_version', true) AS version", {}},
  };
  client.transaction(std::move(steps), [done = std::move(done)](Result r) mutable {
    MigrationReport report;
    if (!r.ok()) {
      done(r.error, report);
      return;
    }
    report.created_nodes = r.statements[1].get(0, "had_nodes") == "f";
    report.created_ttls = r.statements[1].get(0, "had_ttls") == "f";
    auto version = r.statements[5].get(0, "version").value_or("");
    auto log = kc::log::get("datastore");
    if (version.empty())
      log->warn("schema version not recorded: no privilege to create kong_cluster_schema");
    else
      report.recorded_version = std::stoi(version);
    if (report.recorded_version > kSchemaVersion)
      log->info("schema version {} was recorded by a newer agent; this one uses version {}",
                report.recorded_version, kSchemaVersion);
    done(std::nullopt, report);
  });
}

}  // namespace kc::datastore
