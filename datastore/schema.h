// Kong 0.10's `nodes` table and `ttls` side table, created when absent, plus our own
// `kong_cluster_schema` version record. A schema that Kong created is used as it is: every
// DDL statement runs only for an object that does not exist, so a database user without
// CREATE rights can still use tables Kong made, and nothing of Kong's is ever altered.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "datastore/pg_client.h"

namespace kc::datastore {

// The version this agent records in kong_cluster_schema (component 'nodes'). It only ever
// grows, and later versions must stay readable by this one (additions only).
inline constexpr int kSchemaVersion = 1;

struct MigrationReport {
  bool created_nodes = false;  // false: `nodes` existed already (Kong's or an earlier run's)
  bool created_ttls = false;
  int recorded_version = 0;  // kong_cluster_schema's version now; 0 if it could not be kept
};

using MigrateHandler =
    std::function<void(const std::optional<PgError>& error, MigrationReport report)>;

// Idempotent, and safe when many agents start at once (serialised by an advisory lock).
// Fails with a clear error when an existing `nodes` or `ttls` lacks a column we use.
void migrate(PgClient& client, MigrateHandler done);

// Kong 0.10's own DDL for these two tables (migrations 2015-11-23-817313_nodes and
// 2016-02-29-142793_ttls), as single statements, for fixtures and documentation.
extern const char* const kKongNodesDdl;
extern const char* const kKongNodesIndexDdl;
extern const char* const kKongTtlsDdl;

}  // namespace kc::datastore
