// What the RPC server needs from the agent. The lead implements this over the Serf layer;
// tests implement it with a fake. Every method is called on the event loop, and every
// callback must be invoked on the event loop too, and never from inside the call that
// registered it when the Go agent would answer later (events, query records): the server
// sends a command's reply before anything that command causes, as serf does.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "serf_client/records.h"

namespace kc::rpc {

// The server sends the records the client library reads (serf_client/records.h).
using serf_client::Bytes;
using serf_client::Coordinate;
using serf_client::Error;
using serf_client::Event;
using serf_client::KeyOp;
using serf_client::KeyResult;
using serf_client::MemberEvent;
using serf_client::MemberInfo;
using serf_client::QueryEvent;
using serf_client::QueryParams;
using serf_client::QueryRecord;
using serf_client::Tags;
using serf_client::UserEvent;

class AgentApi {
 public:
  virtual ~AgentApi() = default;

  // Everyone this agent knows, in any order (the server does not sort).
  virtual std::vector<MemberInfo> members() = 0;

  // Joins through the given "host:port" addresses; `done(contacted, error)`. With
  // replay=false, user events older than the join are ignored (serf's ignoreOld).
  virtual void join(const std::vector<std::string>& addrs, bool replay,
                    std::function<void(int, Error)> done) = 0;
  // serf RemoveFailedNode / RemoveFailedNodePrune; `done` once the intent was broadcast.
  virtual void force_leave(const std::string& node, bool prune,
                           std::function<void(Error)> done) = 0;
  // force-leave -prune of a member whose end an outside authority confirmed (the operator:
  // its pod is gone). Agents that can, erase it at once on every agent; the fallback is a
  // plain prune.
  virtual void force_leave_gone(const std::string& node, std::function<void(Error)> done) {
    force_leave(node, true, std::move(done));
  }
  // Graceful leave (intent, propagation wait, memberlist leave); `done` when finished.
  virtual void leave(std::function<void(Error)> done) = 0;
  // Called after a `leave` reply has been written: the agent process should stop, as serf's
  // does. Must not destroy the RPC server from inside this call (post the teardown).
  virtual void shutdown() = 0;

  // serf.UserEvent (size limits give serf's error text).
  virtual Error user_event(const std::string& name, const Bytes& payload, bool coalesce) = 0;

  // The local node's current tags, and replacing them all (the server merges a `tags`
  // request into the current set first, as serf's agent does).
  virtual Tags local_tags() = 0;
  virtual Error set_tags(const Tags& tags) = 0;

  // Cluster-wide keyring operations; `key` is base64 (empty for List).
  virtual void key_op(KeyOp op, const std::string& key, std::function<void(KeyResult)> done) = 0;

  // Starts a query. On success (""), `on_record` gets acks and responses as they arrive and
  // `on_done` is called once at the deadline; neither is called when an error is returned.
  // The server has already refused `_serf_` names other than a payload-less `_serf_ping`.
  virtual Error query(const QueryParams& params, std::function<void(const QueryRecord&)> on_record,
                      std::function<void()> on_done) = 0;
  // Responds to a query received through a stream (QueryEvent::handle).
  virtual Error respond(uint64_t handle, const Bytes& payload) = 0;

  // Event subscription for `stream`; the callback gets every event, the server filters.
  virtual uint64_t subscribe_events(std::function<void(const Event&)> callback) = 0;
  virtual void unsubscribe_events(uint64_t id) = 0;

  // serf's agent Stats(): sections agent, runtime, serf, tags, event_handlers.
  virtual std::map<std::string, std::map<std::string, std::string>> stats() = 0;

  // The cached coordinate of a node, if any.
  virtual std::optional<Coordinate> coordinate(const std::string& node) = 0;
};

}  // namespace kc::rpc
