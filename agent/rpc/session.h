// One RPC client connection's protocol state machine, without a socket: bytes go in with
// feed(), replies and stream records come out through SessionOutput. The Asio server wraps
// it around a TCP socket; the unit tests and the fuzz target drive it directly.
//
// It follows serf's agent IPC (cmd/serf/command/agent/ipc.go) request by request: a request
// is processed only after the previous one has been answered (join, force-leave, leave and
// key operations wait for the agent), while stream, monitor and query records flow in
// between. Session rules (docs/wire.md, "The agent RPC"): handshake first, otherwise "Handshake
// required" and close; with an auth key, "Authentication required" without consuming the body;
// unknown command "Unsupported command" and close; undecodable input closes silently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "agent/rpc/agent_api.h"
#include "agent/rpc/filters.h"
#include "agent/rpc/log_source.h"
#include "common/lifetime.h"
#include "serf_client/protocol.h"

namespace kc::rpc {

// The server decodes requests and encodes replies with the client library's protocol code.
namespace proto = serf_client::proto;

class SessionOutput {
 public:
  virtual ~SessionOutput() = default;
  // Queues bytes for the peer (a whole reply or record per call).
  virtual void send(Bytes data) = 0;
  // Bytes queued and not yet written.
  virtual size_t backlog() const = 0;
  // The session is over: write what is queued, close, then run `after` (may be empty).
  // Must not destroy the session from inside this call.
  virtual void finish(std::function<void()> after) = 0;
  // Like finish(), but once written the connection stays open until the peer closes it or
  // a short grace period ends. For `leave`: serf's Go client reports "client closed" when
  // the close races the reply it is still handing over.
  virtual void finish_lingering(std::function<void()> after) { finish(std::move(after)); }
  // The session has room for more input again (reading may resume).
  virtual void input_space() {}
  // Runs `fn` after `delay` (the socket owner uses a timer; by default it runs at once).
  // Used to answer a wrong token slowly. By value: an override keeps `fn` for its timer.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void after(std::chrono::milliseconds /*delay*/, std::function<void()> fn) { fn(); }
};

struct SessionLimits {
  size_t max_object = 4u << 20;      // one request object larger than this closes the session
  size_t max_buffered = 8u << 20;    // input held while a command is in progress
  size_t reply_backlog = 4u << 20;   // above this much unsent output, requests wait
  size_t stream_backlog = 1u << 20;  // above it, stream and monitor records are dropped
  // A wrong token is answered after this delay, then the connection closes: guessing costs
  // a connection and this long per attempt.
  std::chrono::milliseconds auth_failure_delay{1000};
};

// Shared by all sessions of a server, for metrics.
struct SessionCounters {
  uint64_t requests = 0;
  uint64_t protocol_errors = 0;  // closed for undecodable input or a protocol violation
  uint64_t dropped_records = 0;  // stream/monitor records dropped for a slow reader
  uint64_t auth_failures = 0;    // `auth` with a wrong token (each closes its connection)
};

class Session {
 public:
  Session(AgentApi& api, LogSource* logs, SessionOutput& out, std::string auth_key,
          std::string peer, SessionLimits limits = {}, SessionCounters* counters = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The most an owner may feed past accepting_input() turning false (one socket read).
  static constexpr size_t kReadSlack = size_t{64} * 1024;

  // Appends received bytes and processes every complete request.
  void feed(std::span<const uint8_t> data);
  // Output was written: requests held back by a full backlog continue.
  void drained();
  // The peer went away: drop subscriptions; nothing more is sent.
  void close();

  bool closed() const { return closed_; }
  // Handshake done and, with a token, `auth` accepted.
  bool authenticated() const { return version_ != 0 && (auth_key_.empty() || authed_); }
  // Nothing in progress: no command waiting for the agent, no partial request, no stream,
  // monitor or query open. Such a connection may be closed when idle too long or shed.
  bool idle() const;
  // Whether the owner should keep reading: not closed and the input buffer has room.
  bool accepting_input() const;
  size_t buffered() const { return in_.size() - off_; }

 private:
  struct Stream {
    std::vector<EventFilter> filters;
    uint64_t subscription = 0;
  };
  struct Monitor {
    uint64_t seq = 0;
    int min_rank = 0;
    uint64_t subscription = 0;
  };
  struct PendingQuery {
    uint64_t handle = 0;
    std::chrono::steady_clock::time_point deadline;
  };

  void process();
  bool step();
  std::optional<mp::Document> next_object();
  void dispatch(const proto::RequestHeader& h, const mp::Value& body);
  void protocol_error(const std::string& why);
  void finish(std::function<void()> after = {}, bool linger = false);
  void drop_subscriptions();

  // Replies: a header, optionally followed by a body written by `body`.
  void reply(uint64_t seq, std::string_view error,
             const std::function<void(mp::Writer&)>& body = {});
  static Bytes frame(uint64_t seq, std::string_view error,
                     const std::function<void(mp::Writer&)>& body);

  // Runs an agent call whose answer comes later; requests wait until `complete` runs.
  template <typename... Args>
  std::function<void(Args...)> async_reply(
      std::type_identity_t<std::function<void(Args...)>> complete);

  void handle_members(uint64_t seq, const mp::Value* filter_body);
  void handle_key(uint64_t seq, KeyOp op, const std::string& key);
  void handle_tags(uint64_t seq, const proto::TagsRequest& req);
  void handle_stream(uint64_t seq, const proto::StreamRequest& req);
  void handle_monitor(uint64_t seq, const proto::MonitorRequest& req);
  void handle_stop(uint64_t seq, const proto::StopRequest& req);
  void handle_query(uint64_t seq, const proto::QueryRequest& req);
  void handle_respond(uint64_t seq, const proto::RespondRequest& req);
  void handle_leave(uint64_t seq);
  void handle_auth(uint64_t seq, const proto::AuthRequest& req);

  void deliver_event(uint64_t seq, const Event& e);
  void deliver_log(const kc::log::Line& line);
  bool room_for_record();

  AgentApi& api_;
  LogSource* logs_;
  SessionOutput& out_;
  std::string auth_key_;
  std::string peer_;
  SessionLimits limits_;
  SessionCounters* counters_;
  SessionCounters own_counters_;
  LifetimeToken lifetime_;  // callbacks hold a watch()

  Bytes in_;
  size_t off_ = 0;
  size_t need_ = 0;  // lower bound on buffered bytes before a rescan can succeed
  std::optional<proto::RequestHeader> pending_;  // header read, body still to come
  proto::RequestHeader last_header_;             // fields persist, as in serf's decoder
  int32_t version_ = 0;
  bool authed_ = false;
  bool busy_ = false;
  bool closed_ = false;
  bool processing_ = false;
  bool dropping_ = false;

  std::map<uint64_t, Stream> streams_;
  std::optional<Monitor> monitor_;
  std::map<uint64_t, PendingQuery> queries_;  // per-connection query IDs handed to clients
  uint64_t next_query_id_ = 0;
};

}  // namespace kc::rpc
