// Datastore counters as plain fields, read on the event loop thread. The Prometheus export
// (common/metrics, later) maps them to kong_cluster_datastore_* series.
#pragma once

#include <cstdint>

namespace kc::datastore {

// Kept by PgClient.
struct ClientMetrics {
  bool up = false;                // datastore_up: connected right now
  uint64_t connects = 0;          // successful connections
  uint64_t connect_failures = 0;  // failed connection attempts
  uint64_t disconnects = 0;       // established connections that broke or timed out
  // Connections dropped for a malformed or unexpected server message, or an authentication
  // method the client does not implement (GSSAPI, SSPI, SCRAM-SHA-256-PLUS only, ...).
  uint64_t protocol_errors = 0;
  uint64_t queries = 0;          // jobs completed (success or server error): latency count
  double query_seconds_sum = 0;  // their summed latency, queue time excluded
  uint64_t query_errors = 0;     // jobs that ended in any error
  uint64_t rejected = 0;         // jobs failed at once: not connected, queue full or closed
};

// Kept by Registrar.
struct RegistrarMetrics {
  uint64_t registrations = 0;          // own row inserted (start or re-insert)
  uint64_t registration_failures = 0;  // start sequence attempts that failed
  uint64_t keepalives = 0;             // TTL refreshes that succeeded
  uint64_t keepalive_failures = 0;
  uint64_t reinserts = 0;          // keepalive found our row gone and inserted it again
  uint64_t live_rows = 0;          // gauge: live rows at the last read
  uint64_t purged_rows = 0;        // expired rows deleted by us
  uint64_t adopted_rows = 0;       // rows without a TTL that we gave one
  uint64_t autojoin_attempts = 0;  // join callbacks issued (start and auto-join)
  uint64_t member_deletes = 0;     // rows deleted for members that left
  uint64_t member_delete_failures = 0;
};

}  // namespace kc::datastore
