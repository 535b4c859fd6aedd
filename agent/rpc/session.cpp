#include "agent/rpc/session.h"

#include <algorithm>
#include <cctype>

#include "common/log_limit.h"
#include "common/logging.h"
#include "common/token_compare.h"
#include "serf_client/frame.h"

namespace kc::rpc {

using serf_client::FrameScan;
using serf_client::scan_object;
namespace cmd = proto::cmd;
namespace err = proto::err;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  return kc::log::get("rpc");
}

// serf's logutils levels, lowest first.
int level_rank(std::string_view upper) {
  static const char* const kLevels[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERR"};
  for (int i = 0; i < 5; ++i)
    if (upper == kLevels[i]) return i;
  return -1;
}

int line_rank(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return 0;
    case spdlog::level::debug:
      return 1;
    case spdlog::level::info:
      return 2;
    case spdlog::level::warn:
      return 3;
    default:
      return 4;
  }
}

}  // namespace

Session::Session(AgentApi& api, LogSource* logs, SessionOutput& out, std::string auth_key,
                 std::string peer, SessionLimits limits, SessionCounters* counters)
    : api_(api),
      logs_(logs),
      out_(out),
      auth_key_(std::move(auth_key)),
      peer_(std::move(peer)),
      limits_(limits),
      counters_(counters ? counters : &own_counters_) {}

Session::~Session() {
  drop_subscriptions();
}

bool Session::idle() const {
  if (busy_ || pending_ || buffered() > 0 || !streams_.empty() || monitor_) return false;
  auto now = std::chrono::steady_clock::now();
  return std::ranges::all_of(queries_,
                             [now](const auto& entry) { return entry.second.deadline <= now; });
}

bool Session::accepting_input() const {
  return !closed_ && buffered() < limits_.max_buffered;
}

void Session::feed(std::span<const uint8_t> data) {
  if (closed_) return;
  in_.insert(in_.end(), data.begin(), data.end());
  // The owner stops reading once accepting_input() is false, so only a last read can take
  // the buffer past the limit; more than that means the owner does not look, so stop here.
  if (buffered() > limits_.max_buffered + kReadSlack) {
    protocol_error("input buffer limit exceeded");
    return;
  }
  process();
}

void Session::drained() {
  if (!closed_) process();
}

void Session::close() {
  closed_ = true;
  drop_subscriptions();
}

void Session::drop_subscriptions() {
  for (auto& [seq, s] : streams_) api_.unsubscribe_events(s.subscription);
  streams_.clear();
  if (monitor_ && logs_) logs_->unsubscribe(monitor_->subscription);
  monitor_.reset();
}

void Session::finish(std::function<void()> after, bool linger) {
  if (closed_) return;
  closed_ = true;
  drop_subscriptions();
  if (linger)
    out_.finish_lingering(std::move(after));
  else
    out_.finish(std::move(after));
}

void Session::protocol_error(const std::string& why) {
  ++counters_->protocol_errors;
  static kc::log::RateLimit limit;
  kc::log::limited(limit, *logger(), spdlog::level::err, "closing client {}: {}", peer_, why);
  finish();
}

void Session::process() {
  if (processing_) return;  // re-entered from a callback that completed synchronously
  processing_ = true;
  while (!closed_ && !busy_ && out_.backlog() <= limits_.reply_backlog) {
    if (!step()) break;
  }
  processing_ = false;
  if (off_ > 0) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(off_));
    off_ = 0;
  }
  if (accepting_input()) out_.input_space();
}

std::optional<mp::Document> Session::next_object() {
  size_t avail = buffered();
  if (avail == 0 || avail < need_) return std::nullopt;
  std::span<const uint8_t> data(in_.data() + off_, avail);
  FrameScan scan = scan_object(data, limits_.max_object);
  switch (scan.status) {
    case FrameScan::Status::Incomplete:
      need_ = scan.needed;
      return std::nullopt;
    case FrameScan::Status::TooLarge:
      protocol_error("request object too large");
      return std::nullopt;
    case FrameScan::Status::Invalid:
      protocol_error("malformed msgpack");
      return std::nullopt;
    case FrameScan::Status::Complete:
      break;
  }
  need_ = 0;
  try {
    auto doc = mp::Document::parse(data.first(scan.length));
    off_ += scan.length;
    return doc;
  } catch (const mp::DecodeError& e) {
    protocol_error(e.what());
    return std::nullopt;
  }
}

bool Session::step() {
  if (!pending_) {
    auto doc = next_object();
    if (!doc) return false;
    proto::RequestHeader h = last_header_;
    try {
      proto::read_into(doc->root(), h);
    } catch (const mp::DecodeError& e) {
      protocol_error(std::string("failed to decode request header: ") + e.what());
      return false;
    }
    last_header_ = h;
    ++counters_->requests;
    if (h.command != cmd::kHandshake && version_ == 0) {
      reply(h.seq, err::kHandshakeRequired);
      ++counters_->protocol_errors;
      finish();
      return false;
    }
    if (!auth_key_.empty() && !authed_ && h.command != cmd::kAuth && h.command != cmd::kHandshake) {
      // serf answers without reading the body; whatever follows is taken as a header.
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *logger(), spdlog::level::warn,
                       "Client {} sending commands before auth", peer_);
      reply(h.seq, err::kAuthRequired);
      return true;
    }
    if (!proto::command_shape(h.command)) {
      reply(h.seq, err::kUnsupportedCommand);
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *logger(), spdlog::level::err,
                       "Failed to evaluate request: command '{}' not recognized", h.command);
      ++counters_->protocol_errors;
      finish();
      return false;
    }
    pending_ = h;
  }
  std::optional<mp::Document> body;
  if (proto::command_shape(pending_->command)->request_body) {
    body = next_object();
    if (!body) return false;
  }
  proto::RequestHeader h = *pending_;
  pending_.reset();
  try {
    dispatch(h, body ? body->root() : mp::Value());
  } catch (const mp::DecodeError& e) {
    protocol_error("decode failed: " + std::string(e.what()));
    return false;
  }
  return true;
}

Bytes Session::frame(uint64_t seq, std::string_view error,
                     const std::function<void(mp::Writer&)>& body) {
  Bytes out;
  mp::Writer w(out, mp::Dialect::Rpc);
  proto::write(w, proto::ResponseHeader{seq, std::string(error)});
  if (body) body(w);
  return out;
}

void Session::reply(uint64_t seq, std::string_view error,
                    const std::function<void(mp::Writer&)>& body) {
  if (closed_) return;
  out_.send(frame(seq, error, body));
}

template <typename... Args>
std::function<void(Args...)> Session::async_reply(
    std::type_identity_t<std::function<void(Args...)>> complete) {
  busy_ = true;
  auto alive = lifetime_.watch();
  return [this, alive, complete = std::move(complete)](Args... args) {
    if (alive.expired() || !busy_) return;
    busy_ = false;
    if (closed_) return;
    complete(args...);
    process();
  };
}

// Every body is decoded completely before the agent is asked anything, so a decode error
// (which closes the connection) never leaves a half-done command behind.
void Session::dispatch(const proto::RequestHeader& h, const mp::Value& body) {
  const std::string& c = h.command;
  uint64_t seq = h.seq;
  if (c == cmd::kHandshake) {
    auto req = proto::read_handshake(body);
    if (req.version < proto::kIpcVersion || req.version > proto::kIpcVersion) {
      reply(seq, err::kUnsupportedIpcVersion);
    } else if (version_ != 0) {
      reply(seq, err::kDuplicateHandshake);
    } else {
      version_ = req.version;
      reply(seq, "");
    }
  } else if (c == cmd::kAuth) {
    handle_auth(seq, proto::read_auth(body));
  } else if (c == cmd::kEvent) {
    auto req = proto::read_event(body);
    reply(seq, api_.user_event(req.name, req.payload, req.coalesce));
  } else if (c == cmd::kForceLeave) {
    auto req = proto::read_force_leave(body);
    auto done = async_reply<Error>([this, seq](const Error& e) { reply(seq, e); });
    if (req.gone) {
      api_.force_leave_gone(req.node, std::move(done));
    } else {
      api_.force_leave(req.node, req.prune, std::move(done));
    }
  } else if (c == cmd::kJoin) {
    auto req = proto::read_join(body);
    api_.join(req.existing, req.replay, async_reply<int, Error>([this, seq](int n, const Error& e) {
                reply(seq, e, [n](mp::Writer& w) { proto::write_join_response(w, n); });
              }));
  } else if (c == cmd::kMembers) {
    handle_members(seq, nullptr);
  } else if (c == cmd::kMembersFiltered) {
    handle_members(seq, &body);
  } else if (c == cmd::kInstallKey) {
    handle_key(seq, KeyOp::Install, proto::read_key(body).key);
  } else if (c == cmd::kUseKey) {
    handle_key(seq, KeyOp::Use, proto::read_key(body).key);
  } else if (c == cmd::kRemoveKey) {
    handle_key(seq, KeyOp::Remove, proto::read_key(body).key);
  } else if (c == cmd::kListKeys) {
    handle_key(seq, KeyOp::List, "");
  } else if (c == cmd::kTags) {
    handle_tags(seq, proto::read_tags(body));
  } else if (c == cmd::kStream) {
    handle_stream(seq, proto::read_stream(body));
  } else if (c == cmd::kMonitor) {
    handle_monitor(seq, proto::read_monitor(body));
  } else if (c == cmd::kStop) {
    handle_stop(seq, proto::read_stop(body));
  } else if (c == cmd::kLeave) {
    handle_leave(seq);
  } else if (c == cmd::kQuery) {
    handle_query(seq, proto::read_query(body));
  } else if (c == cmd::kRespond) {
    handle_respond(seq, proto::read_respond(body));
  } else if (c == cmd::kStats) {
    auto stats = api_.stats();
    reply(seq, "", [&](mp::Writer& w) { proto::write_stats(w, stats); });
  } else if (c == cmd::kGetCoordinate) {
    auto req = proto::read_coordinate_request(body);
    auto coord = api_.coordinate(req.node);
    reply(seq, "", [&](mp::Writer& w) { proto::write_coordinate_response(w, coord); });
  }
}

void Session::handle_members(uint64_t seq, const mp::Value* filter_body) {
  std::vector<MemberInfo> members;
  if (filter_body) {
    auto req = proto::read_members_filtered(*filter_body);
    auto filtered = filter_members(api_.members(), req.tags, req.status, req.name);
    if (!filtered) {
      // serf: "Failed to compile regex" ends the connection without a reply.
      protocol_error("Failed to compile regex");
      return;
    }
    members = std::move(*filtered);
  } else {
    members = api_.members();
  }
  reply(seq, "", [&](mp::Writer& w) { proto::write_members(w, members); });
}

void Session::handle_key(uint64_t seq, KeyOp op, const std::string& key) {
  bool with_keys = op == KeyOp::List;
  api_.key_op(op, key, async_reply<KeyResult>([this, seq, with_keys](KeyResult r) {
                reply(seq, r.error,
                      [&](mp::Writer& w) { proto::write_key_response(w, r, with_keys); });
              }));
}

void Session::handle_tags(uint64_t seq, const proto::TagsRequest& req) {
  Tags tags = api_.local_tags();
  for (const auto& k : req.delete_tags) tags.erase(k);
  for (const auto& [k, v] : req.tags) tags[k] = v;
  reply(seq, api_.set_tags(tags));
}

void Session::handle_stream(uint64_t seq, const proto::StreamRequest& req) {
  auto filters = parse_event_filters(req.type);
  for (const auto& f : filters) {
    if (!f.valid()) {
      reply(seq, err::kInvalidFilter);
      return;
    }
  }
  if (streams_.contains(seq)) {
    reply(seq, err::kStreamExists);
    return;
  }
  reply(seq, "");
  // Subscribe after replying so no record can precede the reply.
  auto alive = lifetime_.watch();
  Stream s{std::move(filters), 0};
  s.subscription = api_.subscribe_events([this, alive, seq](const Event& e) {
    if (!alive.expired()) deliver_event(seq, e);
  });
  streams_[seq] = std::move(s);
}

void Session::handle_monitor(uint64_t seq, const proto::MonitorRequest& req) {
  std::string level = req.log_level;
  for (char& ch : level) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  int rank = level_rank(level);
  if (rank < 0) {
    reply(seq, "Unknown log level: " + level);
    return;
  }
  if (monitor_) {
    reply(seq, err::kMonitorExists);
    return;
  }
  reply(seq, "");
  monitor_ = Monitor{seq, rank, 0};
  if (!logs_) return;
  // As serf's log writer does on registration: replay the recent lines, then follow.
  for (const auto& line : logs_->recent()) deliver_log(line);
  auto alive = lifetime_.watch();
  monitor_->subscription = logs_->subscribe([this, alive](const kc::log::Line& line) {
    if (!alive.expired()) deliver_log(line);
  });
}

void Session::handle_stop(uint64_t seq, const proto::StopRequest& req) {
  if (monitor_ && monitor_->seq == req.stop) {
    if (logs_) logs_->unsubscribe(monitor_->subscription);
    monitor_.reset();
  }
  if (auto it = streams_.find(req.stop); it != streams_.end()) {
    api_.unsubscribe_events(it->second.subscription);
    streams_.erase(it);
  }
  reply(seq, "");  // serf always succeeds, even for an unknown sequence
}

void Session::handle_auth(uint64_t seq, const proto::AuthRequest& req) {
  if (kc::same_token(req.auth_key, auth_key_)) {
    authed_ = true;
    reply(seq, "");
    return;
  }
  // Serf answers at once and keeps the connection; we answer late and close, so guessing
  // is slow, and every guess is counted.
  ++counters_->auth_failures;
  static kc::log::RateLimit limit;
  kc::log::limited(limit, *logger(), spdlog::level::warn,
                   "RPC client {} sent an invalid authentication token; closing it", peer_);
  busy_ = true;  // nothing more is read from this client
  auto alive = lifetime_.watch();
  out_.after(limits_.auth_failure_delay, [this, alive, seq] {
    if (alive.expired() || closed_) return;
    reply(seq, err::kInvalidAuthToken);
    finish();
  });
}

void Session::handle_leave(uint64_t seq) {
  logger()->info("Graceful leave triggered");
  AgentApi* api = &api_;
  auto alive = lifetime_.watch();
  busy_ = true;
  // serf shuts the agent down after answering, whether or not the leave worked and even
  // when the client has gone.
  api_.leave([this, api, alive, seq](Error e) {
    if (!e.empty()) logger()->error("leave failed: {}", e);
    if (alive.expired() || closed_) {
      api->shutdown();
      return;
    }
    busy_ = false;
    reply(seq, e);
    finish([api] { api->shutdown(); }, /*linger=*/true);
  });
}

void Session::handle_query(uint64_t seq, const proto::QueryRequest& req) {
  const auto& name = req.params.name;
  if (name.starts_with(proto::kInternalPrefix) && (name != "_serf_ping" || !req.payload_nil)) {
    reply(seq, err::kInternalQueryPrefix);
    return;
  }
  // Records that arrive before the reply has gone out (an agent answering synchronously)
  // wait, so the client always sees the reply first.
  struct State {
    bool replied = false;
    std::vector<Bytes> early;
  };
  auto state = std::make_shared<State>();
  auto alive = lifetime_.watch();
  auto emit = [this, alive, state](Bytes b) {
    if (alive.expired() || closed_) return;
    if (!state->replied)
      state->early.push_back(std::move(b));
    else
      out_.send(std::move(b));
  };
  Error e = api_.query(
      req.params,
      [emit, seq](const QueryRecord& r) {
        const char* type = r.type == QueryRecord::Type::Ack ? "ack" : "response";
        emit(frame(seq, "", [&](mp::Writer& w) {
          proto::write_query_record(w, type, r.from,
                                    r.type == QueryRecord::Type::Ack ? Bytes{} : r.payload);
        }));
      },
      [emit, seq] {
        emit(frame(seq, "", [](mp::Writer& w) { proto::write_query_record(w, "done", "", {}); }));
      });
  reply(seq, e);
  state->replied = true;
  if (!e.empty()) return;
  for (auto& b : state->early)
    if (!closed_) out_.send(std::move(b));
  state->early.clear();
}

void Session::handle_respond(uint64_t seq, const proto::RespondRequest& req) {
  auto it = queries_.find(req.id);
  if (it == queries_.end() || std::chrono::steady_clock::now() > it->second.deadline) {
    if (it != queries_.end()) queries_.erase(it);
    reply(seq, err::kInvalidQueryId);
    return;
  }
  reply(seq, api_.respond(it->second.handle, req.payload));
}

bool Session::room_for_record() {
  if (out_.backlog() <= limits_.stream_backlog) {
    dropping_ = false;
    return true;
  }
  ++counters_->dropped_records;
  if (!dropping_) logger()->warn("Dropping events and logs to {}", peer_);
  dropping_ = true;
  return false;
}

void Session::deliver_event(uint64_t seq, const Event& e) {
  auto it = streams_.find(seq);
  if (closed_ || it == streams_.end()) return;
  const auto& filters = it->second.filters;
  if (std::none_of(filters.begin(), filters.end(), [&](auto& f) { return f.matches(e); })) return;
  if (!room_for_record()) return;
  uint64_t id = 0;
  if (auto* q = std::get_if<QueryEvent>(&e)) {
    // Per-connection IDs, registered only for queries actually delivered (as serf does).
    auto now = std::chrono::steady_clock::now();
    std::erase_if(queries_, [&](auto& kv) { return kv.second.deadline < now; });
    id = ++next_query_id_;
    if (q->deadline > now) queries_[id] = PendingQuery{q->handle, q->deadline};
  }
  out_.send(frame(seq, "", [&](mp::Writer& w) { proto::write_event_record(w, e, id); }));
}

void Session::deliver_log(const kc::log::Line& line) {
  if (closed_ || !monitor_) return;
  if (line_rank(line.level) < monitor_->min_rank) return;
  if (!room_for_record()) return;
  out_.send(
      frame(monitor_->seq, "", [&](mp::Writer& w) { proto::write_log_record(w, line.text); }));
}

}  // namespace kc::rpc
