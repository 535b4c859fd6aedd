// Queries (query.go; docs/wire.md, "Queries"): the parameters an originator chooses, the collector
// of acks and responses it gets back, the query as delivered to a receiver's subscribers (with
// respond()), and the filter check every receiver runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/gossip/types.h"
#include "agent/serf/messages.h"

namespace kc::serf {

struct QueryParam {
  std::vector<std::string> filter_nodes;           // only these nodes process the query
  std::map<std::string, std::string> filter_tags;  // tag → regex (unanchored, like RE2 Match)
  bool request_ack = false;
  uint8_t relay_factor = 0;
  gossip::Duration timeout{0};  // 0 = Serf's default

  // Filters in wire form: the node list first, then one tag filter per tag.
  std::vector<Bytes> encode_filters() const;
};

struct NodeResponse {
  std::string from;
  Bytes payload;
};

// The originator's view of a running query. Acks and responses are de-duplicated by node
// name; callbacks run on the event loop as they arrive, and on_done once when the query
// closes (its timeout, or close()).
class QueryResponse {
 public:
  QueryResponse(uint32_t id, LamportTime ltime, gossip::TimePoint deadline, bool ack_requested)
      : id_(id), ltime_(ltime), deadline_(deadline), ack_requested_(ack_requested) {}

  uint32_t id() const { return id_; }
  LamportTime ltime() const { return ltime_; }
  gossip::TimePoint deadline() const { return deadline_; }
  bool ack_requested() const { return ack_requested_; }
  bool closed() const { return closed_; }
  // Go's Finished: closed or past the deadline.
  bool finished(gossip::TimePoint now) const { return closed_ || now > deadline_; }

  const std::vector<std::string>& acks() const { return acks_; }
  const std::vector<NodeResponse>& responses() const { return responses_; }

  std::function<void(const std::string& from)> on_ack;
  std::function<void(const NodeResponse&)> on_response;
  std::function<void()> on_done;

  // Stops delivery; idempotent.
  void close();

  // Used by Serf when a reply arrives; false for a duplicate (or no ack requested).
  bool add_ack(const std::string& from);
  bool add_response(NodeResponse r);

 private:
  uint32_t id_;
  LamportTime ltime_;
  gossip::TimePoint deadline_;
  bool ack_requested_;
  bool closed_ = false;
  std::vector<std::string> acks_;
  std::vector<NodeResponse> responses_;
};

class Query;

// What a delivered query needs from Serf to answer; Serf keeps the only owning pointer so a
// query outliving its Serf answers with an error instead of touching freed memory.
class QueryResponder {
 public:
  virtual ~QueryResponder() = default;
  virtual gossip::TimePoint now() const = 0;
  virtual size_t response_size_limit() const = 0;
  virtual const std::string& local_name() const = 0;
  // Sends an encoded response to the querier and relays it; returns an error text or "".
  virtual std::string send_response(const Query& q, const Bytes& raw,
                                    const MessageQueryResponse& resp) = 0;
};

// A query delivered to this node's subscribers (Go's *Query event).
class Query {
 public:
  LamportTime ltime = 0;
  std::string name;
  Bytes payload;

  uint32_t id = 0;
  Bytes addr;
  uint16_t port = 0;
  std::string source_node;
  gossip::TimePoint deadline{};
  uint8_t relay_factor = 0;

  explicit Query(std::weak_ptr<QueryResponder> responder) : responder_(std::move(responder)) {}

  // Answers once, before the deadline, within the response size limit. Returns "" or the
  // error text Serf gives ("failed to respond to key query: response exceeds limit of 1024
  // bytes", "... response already sent", "... response is past the deadline").
  std::string respond(const Bytes& payload);
  bool responded() const { return responded_; }

  MessageQueryResponse create_response(const Bytes& payload) const;
  // Sends an already encoded response (the list-keys path picks the size itself).
  std::string respond_with(const Bytes& raw, const MessageQueryResponse& resp);

 private:
  std::weak_ptr<QueryResponder> responder_;
  bool responded_ = false;
};

// Does a node named `node_name` with `tags` process a query with these filters? All must
// match; an undecodable filter, a bad regex or an unknown filter type means no. `warning`
// receives Go's log text when one of those happens.
bool should_process_query(const std::vector<Bytes>& filters, const std::string& node_name,
                          const Tags& tags, std::string* warning = nullptr);

// Go's kRandomMembers: up to k distinct members, probing at most 3n random picks and
// skipping those `skip` rejects.
std::vector<Member> k_random_members(size_t k, const std::vector<Member>& members,
                                     const std::function<bool(const Member&)>& skip,
                                     std::mt19937_64& rng);

}  // namespace kc::serf
