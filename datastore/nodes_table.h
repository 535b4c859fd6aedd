// Kong's `nodes` table with Kong's TTL semantics: a row is live while its `ttls` row
// (table_name 'nodes') has expire_at in the future, or when it has no `ttls` row at all;
// expired rows are invisible to reads at once and deleted by purge_expired(). All times are
// UTC `timestamp without time zone`, as Kong wrote them, whatever the server's TimeZone.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datastore/pg_client.h"

namespace kc::datastore {

struct NodeRow {
  std::string name;
  std::string address;  // cluster_listening_address: the advertised ip:port
  std::chrono::system_clock::time_point created_at;
  std::optional<std::chrono::seconds> expires_in;  // nullopt: the row has no TTL
};

struct InsertOutcome {
  bool created = false;  // false: our row existed and was updated
  // Other rows that claimed our address: ghosts of an earlier process with this ip:port
  // (a pod IP handed to a new pod), deleted because nobody else can be listening there.
  std::vector<std::string> displaced;
};

struct PurgeOutcome {
  std::vector<std::string> purged;  // expired rows deleted, with their ttls rows
  uint64_t adopted = 0;             // rows without a TTL that were given one
};

template <class T>
using Callback = std::function<void(const std::optional<PgError>& error, T value)>;

// Stateless over a PgClient: every method is one job on the client's queue.
class NodesTable {
 public:
  explicit NodesTable(PgClient& client) : client_(client) {}

  // Upserts our row (name, address, created_at now) and sets its TTL to now + ttl, in one
  // transaction; rows of other names with the same address are removed.
  void insert_self(const std::string& name, const std::string& address, std::chrono::seconds ttl,
                   Callback<InsertOutcome> done);
  // Deletes a row and its TTL. `deleted` is false when there was no such row.
  void delete_node(const std::string& name, Callback<bool> done);
  // Sets the row's TTL to now + ttl, live or expired-but-unpurged. `found` is false when the
  // row is gone (deleted by a member-leave, a purge, or by hand): the caller re-inserts.
  void refresh_ttl(const std::string& name, std::chrono::seconds ttl, Callback<bool> done);
  // Live rows, newest first (created_at descending, then name).
  void live_nodes(Callback<std::vector<NodeRow>> done);
  // Deletes expired rows and their ttls rows. When orphan_ttl > 0, rows that have no ttls
  // row (left by a crash between Kong's two writes, or added by hand) get one, so that no
  // row stays forever.
  void purge_expired(std::chrono::seconds orphan_ttl, Callback<PurgeOutcome> done);

 private:
  PgClient& client_;
};

}  // namespace kc::datastore
