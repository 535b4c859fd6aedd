#include "datastore/nodes_table.h"

#include <cmath>

namespace kc::datastore {

namespace {

// Kong compares against `CURRENT_TIMESTAMP(0) at time zone 'utc'`; timezone('utc', now())
// is the same instant with full precision, so rows we write sort correctly within a second.
constexpr const char* kNowUtc = "timezone('utc', now())";

std::string sql(std::initializer_list<std::string> parts) {
  std::string out;
  for (auto& p : parts) out += p;
  return out;
}

// The ttls row Kong's DAO writes for a `nodes` entity: primary key name 'name', no uuid.
std::string upsert_ttl_sql() {
  return sql(
      {"INSERT INTO ttls (primary_key_value, primary_uuid_value, table_name, primary_key_name, "
       "expire_at)"
       " VALUES ($1, NULL, 'nodes', 'name', ",
       kNowUtc,
       " + $2::integer * interval '1 second')"
       " ON CONFLICT (primary_key_value, table_name) DO UPDATE SET expire_at = "
       "EXCLUDED.expire_at"});
}

std::chrono::system_clock::time_point from_epoch(const std::optional<std::string>& s) {
  if (!s) return {};
  double secs = std::stod(*s);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(secs)));
}

}  // namespace

void NodesTable::insert_self(const std::string& name, const std::string& address,
                             std::chrono::seconds ttl, Callback<InsertOutcome> done) {
  std::vector<Statement> steps = {
      {"WITH gone AS (DELETE FROM nodes WHERE cluster_listening_address = $2 AND name <> $1 "
       "RETURNING name),"
       " t AS (DELETE FROM ttls WHERE table_name = 'nodes' AND primary_key_value IN (SELECT name "
       "FROM gone))"
       " SELECT name FROM gone",
       {name, address}},
      {sql({"INSERT INTO nodes (name, cluster_listening_address, created_at) VALUES ($1, $2, ",
            kNowUtc,
            ") ON CONFLICT (name) DO UPDATE SET cluster_listening_address = "
            "EXCLUDED.cluster_listening_address"
            " RETURNING (xmax = 0) AS created"}),
       {name, address}},
      {upsert_ttl_sql(), {name, std::to_string(ttl.count())}},
  };
  client_.transaction(std::move(steps), [done = std::move(done)](Result r) {
    InsertOutcome out;
    if (!r.ok()) return done(r.error, out);
    for (auto& row : r.statements[0].rows) out.displaced.push_back(row[0].value_or(""));
    out.created = r.statements[1].get(0, "created") == "t";
    done(std::nullopt, out);
  });
}

void NodesTable::delete_node(const std::string& name, Callback<bool> done) {
  client_.execute({"WITH n AS (DELETE FROM nodes WHERE name = $1 RETURNING name),"
                   " t AS (DELETE FROM ttls WHERE table_name = 'nodes' AND primary_key_value = $1)"
                   " SELECT count(*) AS deleted FROM n",
                   {name}},
                  [done = std::move(done)](Result r) {
                    if (!r.ok()) return done(r.error, false);
                    done(std::nullopt, r.statements[0].get(0, "deleted").value_or("0") != "0");
                  });
}

void NodesTable::refresh_ttl(const std::string& name, std::chrono::seconds ttl,
                             Callback<bool> done) {
  // Only for a row that exists: a TTL for a missing row would be a dangling ttls entry.
  // A row that exists without a ttls row (an orphan) gets one here too.
  client_.execute(
      {sql({"INSERT INTO ttls (primary_key_value, primary_uuid_value, table_name, primary_key_name,"
            " expire_at) SELECT n.name, NULL, 'nodes', 'name', ",
            kNowUtc,
            " + $2::integer * interval '1 second' FROM nodes n WHERE n.name = $1"
            " ON CONFLICT (primary_key_value, table_name) DO UPDATE SET expire_at = "
            "EXCLUDED.expire_at"}),
       {name, std::to_string(ttl.count())}},
      [done = std::move(done)](Result r) {
        if (!r.ok()) return done(r.error, false);
        done(std::nullopt, r.statements[0].affected > 0);
      });
}

void NodesTable::live_nodes(Callback<std::vector<NodeRow>> done) {
  // Adjacent literals without commas are one SQL fragment split over lines, on purpose.
  // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
  client_.execute({sql({"SELECT n.name, n.cluster_listening_address AS address,"
                        " extract(epoch FROM n.created_at)::text AS created,"
                        " extract(epoch FROM t.expire_at - ",
                        kNowUtc,
                        ")::text AS expires_in"
                        " FROM nodes n LEFT OUTER JOIN ttls t ON t.primary_key_value = n.name AND "
                        "t.table_name = 'nodes'"
                        " WHERE t.primary_key_value IS NULL OR t.expire_at > ",
                        kNowUtc, " ORDER BY n.created_at DESC NULLS LAST, n.name"}),
                   {}},
                  [done = std::move(done)](Result r) {
                    std::vector<NodeRow> nodes;
                    if (!r.ok()) return done(r.error, nodes);
                    auto& rows = r.statements[0];
                    for (size_t i = 0; i < rows.rows.size(); ++i) {
                      NodeRow n;
                      n.name = rows.get(i, "name").value_or("");
                      n.address = rows.get(i, "address").value_or("");
                      n.created_at = from_epoch(rows.get(i, "created"));
                      if (auto e = rows.get(i, "expires_in"))
                        n.expires_in =
                            std::chrono::seconds(static_cast<long long>(std::ceil(std::stod(*e))));
                      nodes.push_back(std::move(n));
                    }
                    done(std::nullopt, std::move(nodes));
                  });
}

void NodesTable::purge_expired(std::chrono::seconds orphan_ttl, Callback<PurgeOutcome> done) {
  // The ttls DELETE re-checks expire_at on the locked row, so a keepalive that refreshed it
  // concurrently wins and the node row stays.
  std::vector<Statement> steps = {
      {sql({"WITH expired AS (DELETE FROM ttls WHERE table_name = 'nodes' AND expire_at < ",
            kNowUtc,
            " RETURNING primary_key_value),"
            " gone AS (DELETE FROM nodes WHERE name IN (SELECT primary_key_value FROM expired) "
            "RETURNING name)"
            " SELECT name FROM gone"}),
       {}},
  };
  if (orphan_ttl.count() > 0)
    steps.push_back({sql({"INSERT INTO ttls (primary_key_value, primary_uuid_value, table_name, "
                          "primary_key_name,"
                          " expire_at) SELECT n.name, NULL, 'nodes', 'name', ",
                          kNowUtc,
                          " + $1::integer * interval '1 second' FROM nodes n WHERE NOT EXISTS"
                          " (SELECT 1 FROM ttls t WHERE t.table_name = 'nodes' AND "
                          "t.primary_key_value = n.name)"
                          " ON CONFLICT DO NOTHING"}),
                     {std::to_string(orphan_ttl.count())}});
  client_.transaction(std::move(steps), [done = std::move(done)](Result r) {
    PurgeOutcome out;
    if (!r.ok()) return done(r.error, out);
    for (auto& row : r.statements[0].rows) out.purged.push_back(row[0].value_or(""));
    if (r.statements.size() > 1) out.adopted = r.statements[1].affected;
    done(std::nullopt, out);
  });
}

}  // namespace kc::datastore
