#include "agent/datastore/schema.h"

#include <map>
#include <set>

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
// CREATE ... IF NOT EXISTS would still demand CREATE rights on the schema.
std::string create_missing_sql() {
  return std::string("DO $kc$ BEGIN\n") + "IF to_regclass('nodes') IS NULL THEN " + kKongNodesDdl +
         "; END IF;\n" + "IF to_regclass('nodes_cluster_listening_address_idx') IS NULL THEN " +
         kKongNodesIndexDdl + "; END IF;\n" + "IF to_regclass('ttls') IS NULL THEN " +
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

const std::map<std::string, std::set<std::string>>& required_columns() {
  static const std::map<std::string, std::set<std::string>> cols = {
      {"nodes", {"name", "cluster_listening_address", "created_at"}},
      {"ttls",
       {"primary_key_value", "primary_uuid_value", "table_name", "primary_key_name", "expire_at"}},
  };
  return cols;
}

// An error message naming the missing columns, or "" when both tables fit.
std::string check_columns(const Rows& rows) {
  std::map<std::string, std::set<std::string>> have;
  for (size_t i = 0; i < rows.rows.size(); ++i)
    have[rows.get(i, "relname").value_or("")].insert(rows.get(i, "attname").value_or(""));
  std::string missing;
  for (auto& [table, cols] : required_columns())
    for (auto& c : cols)
      if (!have[table].count(c)) missing += (missing.empty() ? "" : ", ") + table + "." + c;
  return missing.empty() ? "" : "existing tables are not Kong 0.10's: missing " + missing;
}

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
      {record_version_sql(), {}},
      {"SELECT c.relname::text AS relname, a.attname::text AS attname FROM pg_attribute a"
       " JOIN pg_class c ON c.oid = a.attrelid"
       " WHERE a.attrelid IN (to_regclass('nodes'), to_regclass('ttls')) AND a.attnum > 0 AND NOT "
       "a.attisdropped",
       {}},
      {"SELECT current_setting('kong_cluster.schema_version', true) AS version", {}},
  };
  client.transaction(
      std::move(steps), [cfg = client.config(), done = std::move(done)](Result r) mutable {
        MigrationReport report;
        if (!r.ok()) {
          done(r.error, report);
          return;
        }
        report.created_nodes = r.statements[1].get(0, "had_nodes") == "f";
        report.created_ttls = r.statements[1].get(0, "had_ttls") == "f";
        if (auto problem = check_columns(r.statements[4]); !problem.empty()) {
          PgError e;
          e.kind = PgError::Kind::query;
          e.message = problem;
          e.sqlstate = "42703";  // undefined_column
          e.host = cfg.host;
          e.port = cfg.port;
          e.database = cfg.database;
          done(e, report);
          return;
        }
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
