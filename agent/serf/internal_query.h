// Serf's internal queries (internal_query.go; docs/wire.md, "Internal queries"): _serf_ping (only
// the generic ack), _serf_conflict, and the key-management queries. They are answered here and
// never reach event subscribers.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/serf/messages.h"
#include "agent/serf/query.h"

namespace kc::serf {

class Serf;

class InternalQueries {
 public:
  static constexpr const char* kPrefix = "_serf_";
  // 1024 / 25 = 40: no list-keys answer within the response limit holds more keys.
  static constexpr size_t kMinEncodedKeyLength = 25;

  explicit InternalQueries(Serf& serf) : serf_(serf) {}
  void handle(const std::shared_ptr<Query>& q);

 private:
  void handle_conflict(Query& q);
  void handle_key_change(Query& q, const char* op);
  void handle_list_keys(Query& q);
  void send_key_response(Query& q, NodeKeyResponse& resp);

  Serf& serf_;
};

// Go's keyListResponseWithCorrectSize: drops keys until the encoded query response fits in
// `limit`, saying so in Message. Returns the encoded response and its message, or nullopt.
struct FittedKeyResponse {
  Bytes raw;
  MessageQueryResponse response;
};
std::optional<FittedKeyResponse> fit_key_list_response(const Query& q, NodeKeyResponse& resp,
                                                       size_t limit);

}  // namespace kc::serf
