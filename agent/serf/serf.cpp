#include "agent/serf/serf.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "agent/gossip/crypto/keyring.h"
#include "agent/serf/internal_query.h"
#include "agent/serf/tags.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

namespace kc::serf {

namespace {

constexpr uint8_t kPingVersion = 1;

std::string addr_string(const gossip::Address& a) {
  return a.ip.empty() ? std::string("<none>") : a.to_string();
}

}  // namespace

const char* to_string(Serf::State s) {
  switch (s) {
    case Serf::State::Alive:
      return "alive";
    case Serf::State::Leaving:
      return "leaving";
    case Serf::State::Left:
      return "left";
    case Serf::State::Shutdown:
      return "shutdown";
  }
  return "unknown";
}

// Lets delivered queries answer through Serf without owning it.
class Serf::Responder : public QueryResponder {
 public:
  explicit Responder(Serf& s) : s_(s) {}
  gossip::TimePoint now() const override { return s_.sched_.now(); }
  size_t response_size_limit() const override { return s_.config_.query_response_size_limit; }
  const std::string& local_name() const override { return s_.config_.node_name; }
  std::string send_response(const Query& q, const Bytes& raw,
                            const MessageQueryResponse& resp) override {
    gossip::Address to{q.addr, q.port};
    s_.send_to(to, raw);
    return s_.relay_response(q.relay_factor, to, q.source_node, resp);
  }

 private:
  Serf& s_;
};

Serf::Serf(Config config, gossip::Scheduler& scheduler, const MemberlistFactory& factory)
    : config_(std::move(config)),
      sched_(scheduler),
      log_(kc::log::get("serf")),
      rng_(config_.seed ? config_.seed : std::random_device{}()),
      broadcasts_(config_.memberlist.retransmit_mult, [this] { return members_.size(); }),
      event_broadcasts_(config_.memberlist.retransmit_mult, [this] { return members_.size(); }),
      query_broadcasts_(config_.memberlist.retransmit_mult, [this] { return members_.size(); }),
      event_buffer_(config_.event_buffer),
      query_buffer_(config_.query_buffer),
      key_manager_(*this),
      reap_timer_(scheduler),
      reconnect_timer_(scheduler),
      queue_timer_(scheduler) {
  if (auto err = config_.validate(); !err.empty()) throw std::invalid_argument(err);

  responder_ = std::make_shared<Responder>(*this);
  internal_queries_ = std::make_unique<InternalQueries>(*this);

  if (config_.coalesce_period > Duration::zero() && config_.quiescent_period > Duration::zero()) {
    member_coalescer_ = std::make_unique<MemberEventCoalescer>(
        sched_, config_.coalesce_period, config_.quiescent_period,
        [this](const Event& e) { deliver(e); });
  }
  if (config_.user_coalesce_period > Duration::zero() &&
      config_.user_quiescent_period > Duration::zero()) {
    user_coalescer_ = std::make_unique<UserEventCoalescer>(sched_, config_.user_coalesce_period,
                                                           config_.user_quiescent_period,
                                                           [this](const Event& e) { deliver(e); });
  }

  if (!config_.disable_coordinates) {
    coord_client_ = std::make_unique<coordinate::Client>(coordinate::Config{}, rng_());
    coord_cache_[config_.node_name] = coord_client_->coordinate();
  }

  // At least 1, so that the zero LTime of an unset intent never wins (serf.go Create).
  clock_.increment();
  event_clock_.increment();
  query_clock_.increment();

  auto& ml = config_.memberlist;
  ml.name = config_.node_name;
  // Every serf protocol maps to memberlist protocol 2; the delegate triple is Serf's.
  ml.vsn[2] = 2;
  ml.vsn[3] = kProtocolVersionMin;
  ml.vsn[4] = kProtocolVersionMax;
  ml.vsn[5] = config_.protocol_version;
  if (ml.seed == 0 && config_.seed != 0) ml.seed = config_.seed * 0x9e3779b97f4a7c15ULL + 1;

  gossip::Delegates delegates;
  delegates.delegate = this;
  delegates.events = this;
  delegates.ping = config_.disable_coordinates ? nullptr : this;
  delegates.conflict = this;
  memberlist_ = factory(ml, delegates);
}

Serf::~Serf() {
  lifetime_.end();
  for (auto id : timers_) sched_.cancel(id);
  for (auto& [lt, rq] : query_responses_) sched_.cancel(rq.timer);
  // The memberlist goes first so that nothing calls back into a half-destroyed Serf.
  memberlist_.reset();
}

void Serf::after(gossip::Duration delay, std::function<void()> fn) {
  auto id = std::make_shared<gossip::Scheduler::TimerId>(0);
  *id = sched_.schedule(delay, [this, alive = lifetime_.watch(), id, fn = std::move(fn)] {
    if (alive.expired()) return;
    timers_.erase(*id);
    fn();
  });
  timers_.insert(*id);
}

void Serf::start() {
  memberlist_->start();
  arm_periodic();
}

void Serf::arm_periodic() {
  arm_periodic_reap();
  arm_periodic_reconnect();
  arm_periodic_queue_check();
}

void Serf::arm_periodic_reap() {
  reap_timer_.arm(config_.reap_interval, [this] {
    reap();
    if (state_ != State::Shutdown) arm_periodic_reap();
  });
}

void Serf::arm_periodic_reconnect() {
  reconnect_timer_.arm(config_.reconnect_interval, [this] {
    reconnect();
    if (state_ != State::Shutdown) arm_periodic_reconnect();
  });
}

void Serf::arm_periodic_queue_check() {
  queue_timer_.arm(config_.queue_check_interval, [this] {
    check_queue_depth("Intent", broadcasts_);
    check_queue_depth("Event", event_broadcasts_);
    check_queue_depth("Query", query_broadcasts_);
    if (state_ != State::Shutdown) arm_periodic_queue_check();
  });
}

// ---------------------------------------------------------------- membership operations

void Serf::join(const std::vector<std::string>& addresses, bool ignore_old, JoinDone done) {
  if (state_ != State::Alive) {
    if (done) done(0, "Serf can't Join after Leave or Shutdown");
    return;
  }
  if (ignore_old) ++event_join_ignore_;
  memberlist_->join(addresses, [this, alive = lifetime_.watch(), ignore_old,
                                done = std::move(done)](int joined, const std::string& error) {
    if (alive.expired()) return;
    if (ignore_old) --event_join_ignore_;
    // The push/pull merge has witnessed the cluster's member clock by now, so this intent
    // is newer than anything the cluster holds about our name (the rejoin pitfall).
    if (joined > 0) broadcast_join(clock_.time());
    if (done) done(joined, error);
  });
}

void Serf::broadcast_join(LamportTime ltime) {
  MessageJoin msg{ltime, config_.node_name};
  clock_.witness(ltime);
  handle_node_join_intent(msg);
  broadcasts_.queue(encode(msg));
}

void Serf::queue_and_wait(gossip::BroadcastQueue& queue, Bytes msg, std::string timeout_error,
                          Done done) {
  struct Wait {
    bool fired = false;
    Done done;
  };
  auto wait = std::make_shared<Wait>();
  wait->done = std::move(done);
  // Finished runs inside get_broadcasts (memberlist's gossip), so continue from a posted task.
  queue.queue(std::move(msg), {}, [this, alive = lifetime_.watch(), wait] {
    if (alive.expired() || wait->fired) return;
    wait->fired = true;
    sched_.post([alive, wait] {
      if (!alive.expired()) wait->done("");
    });
  });
  after(config_.broadcast_timeout, [wait, err = std::move(timeout_error)] {
    if (wait->fired) return;
    wait->fired = true;
    wait->done(err);
  });
}

void Serf::leave(Done done) {
  if (!done) done = [](const std::string&) {};
  if (state_ == State::Left) return done("");
  if (state_ == State::Leaving) return done("Leave already in progress");
  if (state_ == State::Shutdown) return done("Leave called after Shutdown");
  state_ = State::Leaving;

  MessageLeave msg{clock_.time(), config_.node_name, false};
  clock_.increment();
  handle_node_leave_intent(msg);

  auto after_intent = [this, done](const std::string& err) {
    if (!err.empty()) return done(err);
    if (state_ == State::Shutdown) return done("Leave called after Shutdown");
    memberlist_->leave(config_.broadcast_timeout,
                       [this, alive = lifetime_.watch(), done](bool timed_out) {
                         if (alive.expired()) return;
                         if (timed_out) return done("timeout waiting for leave broadcast");
                         // Stay up a little so that probes from nodes that have not heard yet still
                         // succeed.
                         after(config_.leave_propagate_delay, [this, done] {
                           if (state_ != State::Shutdown) state_ = State::Left;
                           log_->info("left the cluster");
                           done("");
                         });
                       });
  };
  if (has_alive_members()) {
    queue_and_wait(broadcasts_, encode(msg), "timeout while waiting for graceful leave",
                   after_intent);
  } else {
    after_intent("");
  }
}

void Serf::force_leave(const std::string& node, bool prune, Done done) {
  if (!done) done = [](const std::string&) {};
  MessageLeave msg{clock_.time(), node, prune};
  clock_.increment();
  handle_node_leave_intent(msg);
  if (!has_alive_members()) return done("");
  queue_and_wait(broadcasts_, encode(msg), "timed out broadcasting node removal", std::move(done));
}

void Serf::force_leave_gone(const std::string& node, Done done) {
  if (!done) done = [](const std::string&) {};
  if (node == config_.node_name) return done("cannot declare this agent itself gone");
  if (memberlist_->declare_dead(node)) log_->info("member {} confirmed gone: declared dead", node);
  // Erased here by now; the intent gossips on without the caller waiting for it (whoever
  // confirmed the end tells every agent it can reach).
  force_leave(node, true, nullptr);
  done("");
}

void Serf::shutdown() {
  if (state_ == State::Shutdown) return;
  if (state_ != State::Left) log_->warn("Shutdown without a Leave");
  state_ = State::Shutdown;
  memberlist_->shutdown();
  reap_timer_.cancel();
  reconnect_timer_.cancel();
  queue_timer_.cancel();
  // Go flushes the coalescers when its shutdown channel closes.
  if (user_coalescer_) user_coalescer_->flush();
  if (member_coalescer_) member_coalescer_->flush();
  auto callbacks = std::move(shutdown_callbacks_);
  shutdown_callbacks_.clear();
  for (auto& cb : callbacks) cb();
}

bool Serf::has_alive_members() const {
  return std::ranges::any_of(members_, [this](const auto& entry) {
    return entry.first != config_.node_name && entry.second.member.status == MemberStatus::Alive;
  });
}

std::string Serf::set_tags(const Tags& tags) {
  if (encode_tags(tags, config_.protocol_version).size() > kMetaMaxSize)
    return "Encoded length of tags exceeds limit of " + std::to_string(kMetaMaxSize) + " bytes";
  config_.tags = tags;
  memberlist_->update_node();
  return {};
}

// ---------------------------------------------------------------- queries about state

std::vector<Member> Serf::members() const {
  std::vector<Member> out;
  out.reserve(members_.size());
  for (const auto& [name, ms] : members_) out.push_back(ms.member);
  return out;
}

std::optional<Member> Serf::member(const std::string& name) const {
  auto* ms = find(name);
  if (!ms) return std::nullopt;
  return ms->member;
}

Member Serf::local_member() const {
  if (auto* ms = find(config_.node_name)) return ms->member;
  Member m;
  m.name = config_.node_name;
  m.tags = config_.tags;
  return m;
}

bool Serf::encryption_enabled() const {
  auto ring = memberlist_->keyring();
  return ring && !ring->empty();
}

std::map<std::string, std::string> Serf::stats() const {
  std::map<std::string, std::string> s;
  s["members"] = std::to_string(members_.size());
  s["failed"] = std::to_string(failed_members_.size());
  s["left"] = std::to_string(left_members_.size());
  s["health_score"] = std::to_string(memberlist_->health_score());
  s["member_time"] = std::to_string(clock_.time());
  s["event_time"] = std::to_string(event_clock_.time());
  s["query_time"] = std::to_string(query_clock_.time());
  s["intent_queue"] = std::to_string(broadcasts_.size());
  s["event_queue"] = std::to_string(event_broadcasts_.size());
  s["query_queue"] = std::to_string(query_broadcasts_.size());
  s["encrypted"] = encryption_enabled() ? "true" : "false";
  if (coord_client_) s["coordinate_resets"] = std::to_string(coord_client_->resets());
  return s;
}

std::optional<coordinate::Coordinate> Serf::get_coordinate() const {
  if (!coord_client_) return std::nullopt;
  return coord_client_->coordinate();
}

std::optional<coordinate::Coordinate> Serf::get_cached_coordinate(const std::string& node) const {
  if (!coord_client_) return std::nullopt;
  auto it = coord_cache_.find(node);
  if (it == coord_cache_.end()) return std::nullopt;
  return it->second;
}

MemberState* Serf::find(const std::string& name) {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

const MemberState* Serf::find(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

void Serf::remove_from(std::vector<std::string>& list, const std::string& name) {
  // Go's removeOldMember: swap with the last and shrink (order matters only for the random
  // reconnect choice).
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == name) {
      list[i] = list.back();
      list.pop_back();
      return;
    }
  }
}

void Serf::log_status(const MemberState& ms, MemberStatus old, const char* what) {
  log_->info("{}: {} {} ({} -> {})", what, ms.member.name, addr_string(ms.member.addr),
             to_string(old), to_string(ms.member.status));
}

// ---------------------------------------------------------------- memberlist events

void Serf::notify_join(const gossip::Node& n) {
  MemberStatus old;
  MemberState* ms = find(n.name);
  if (!ms) {
    old = MemberStatus::None;
    MemberState fresh;
    fresh.member.name = n.name;
    fresh.member.addr = n.addr;
    fresh.member.tags = decode_tags(n.meta);
    fresh.member.status = MemberStatus::Alive;
    // An intent that arrived before memberlist told us about the node decides its start.
    if (auto lt = recent_intent(n.name, MessageType::Join)) fresh.status_ltime = *lt;
    if (auto lt = recent_intent(n.name, MessageType::Leave)) {
      fresh.member.status = MemberStatus::Leaving;
      fresh.status_ltime = *lt;
    }
    ms = &members_.emplace(n.name, std::move(fresh)).first->second;
  } else {
    old = ms->member.status;
    if (old == MemberStatus::Failed && sched_.now() - ms->leave_time < config_.flap_timeout) {
      log_->debug("member {} flapped", n.name);
    }
    ms->member.status = MemberStatus::Alive;
    ms->leave_time = {};
    ms->member.addr = n.addr;
    std::string err;
    ms->member.tags = decode_tags(n.meta, &err);
    if (!err.empty()) log_->error("Failed to decode tags: {}", err);
  }
  ms->member.protocol_min = n.pmin();
  ms->member.protocol_max = n.pmax();
  ms->member.protocol_cur = n.pcur();
  ms->member.delegate_min = n.dmin();
  ms->member.delegate_max = n.dmax();
  ms->member.delegate_cur = n.dcur();
  if (old == MemberStatus::Failed || old == MemberStatus::Left) {
    remove_from(failed_members_, n.name);
    remove_from(left_members_, n.name);
  }
  log_status(*ms, old, "EventMemberJoin");
  emit(MemberEvent{EventType::MemberJoin, {ms->member}});
}

void Serf::notify_leave(const gossip::Node& n) {
  MemberState* ms = find(n.name);
  if (!ms) return;  // never heard of it
  MemberStatus old = ms->member.status;
  EventType type;
  switch (old) {
    case MemberStatus::Leaving:
      ms->member.status = MemberStatus::Left;
      ms->leave_time = sched_.now();
      left_members_.push_back(n.name);
      type = EventType::MemberLeave;
      break;
    case MemberStatus::Alive:
      ms->member.status = MemberStatus::Failed;
      ms->leave_time = sched_.now();
      failed_members_.push_back(n.name);
      type = EventType::MemberFailed;
      break;
    default:
      log_->warn("Bad state when leave: {}", static_cast<int>(old));
      return;
  }
  log_status(*ms, old, type == EventType::MemberLeave ? "EventMemberLeave" : "EventMemberFailed");
  emit(MemberEvent{type, {ms->member}});
  // A prune that waited for this member's own leave: memberlist has now seen it go.
  if (prune_pending_.erase(n.name)) erase_pruned(n.name);
}

void Serf::notify_update(const gossip::Node& n) {
  MemberState* ms = find(n.name);
  if (!ms) return;
  ms->member.addr = n.addr;
  std::string err;
  ms->member.tags = decode_tags(n.meta, &err);
  if (!err.empty()) log_->error("Failed to decode tags: {}", err);
  ms->member.protocol_min = n.pmin();
  ms->member.protocol_max = n.pmax();
  ms->member.protocol_cur = n.pcur();
  ms->member.delegate_min = n.dmin();
  ms->member.delegate_max = n.dmax();
  ms->member.delegate_cur = n.dcur();
  log_status(*ms, ms->member.status, "EventMemberUpdate");
  emit(MemberEvent{EventType::MemberUpdate, {ms->member}});
}

// ---------------------------------------------------------------- intents

bool Serf::upsert_intent(const std::string& node, MessageType type, LamportTime ltime) {
  auto it = recent_intents_.find(node);
  if (it == recent_intents_.end()) {
    // Refused, not rebroadcast: a flood of invented names stops here instead of spreading.
    if (recent_intents_.size() >= config_.max_recent_intents) {
      ++counters_.intents_dropped;
      return false;
    }
    recent_intents_.emplace(node, NodeIntent{type, sched_.now(), ltime});
    return true;
  }
  if (ltime > it->second.ltime) {
    it->second = NodeIntent{type, sched_.now(), ltime};
    return true;
  }
  return false;
}

std::optional<LamportTime> Serf::recent_intent(const std::string& node, MessageType type) const {
  auto it = recent_intents_.find(node);
  if (it != recent_intents_.end() && it->second.type == type) return it->second.ltime;
  return std::nullopt;
}

bool Serf::handle_node_leave_intent(const MessageLeave& msg) {
  clock_.witness(msg.ltime);
  MemberState* ms = find(msg.node);
  if (!ms) return upsert_intent(msg.node, MessageType::Leave, msg.ltime);
  if (msg.ltime <= ms->status_ltime) return false;

  // Someone thinks we are leaving, but we are not: refute with a newer join intent.
  if (msg.node == config_.node_name && state_ == State::Alive) {
    log_->debug("Refuting an older leave intent");
    sched_.post([this, alive = lifetime_.watch()] {
      if (!alive.expired()) broadcast_join(clock_.time());
    });
    return false;
  }

  // Recorded even when the status does not change, so two nodes cannot keep rebroadcasting
  // each other's copy of the same leave (hashicorp/consul#8179).
  ms->status_ltime = msg.ltime;
  MemberStatus old = ms->member.status;
  switch (old) {
    case MemberStatus::Alive:
      ms->member.status = MemberStatus::Leaving;
      log_status(*ms, old, "leave intent");
      if (msg.prune) handle_prune(msg.node);
      return true;
    case MemberStatus::Failed:
      ms->member.status = MemberStatus::Left;
      remove_from(failed_members_, msg.node);
      left_members_.push_back(msg.node);
      log_status(*ms, old, "EventMemberLeave (forced)");
      emit(MemberEvent{EventType::MemberLeave, {ms->member}});
      if (msg.prune) handle_prune(msg.node);
      return true;
    case MemberStatus::Leaving:
    case MemberStatus::Left:
      if (msg.prune) handle_prune(msg.node);
      return true;
    default:
      return false;
  }
}

void Serf::handle_prune(const std::string& name) {
  MemberState* ms = find(name);
  if (ms && ms->member.status == MemberStatus::Leaving) {
    // Go sleeps here so that the node's own leave completes first. Its leave is complete
    // once memberlist reports the node gone (notify_leave), which ends the wait early.
    prune_pending_.insert(name);
    after(config_.broadcast_timeout + config_.leave_propagate_delay, [this, name] {
      if (prune_pending_.erase(name)) erase_pruned(name);
    });
  } else {
    prune_pending_.erase(name);
    erase_pruned(name);
  }
}

void Serf::erase_pruned(const std::string& name) {
  MemberState* ms = find(name);
  if (!ms) return;
  log_->info("EventMemberReap (forced): {} {}", name, addr_string(ms->member.addr));
  remove_from(left_members_, name);
  remove_from(failed_members_, name);
  erase_node(name);
}

bool Serf::handle_node_join_intent(const MessageJoin& msg) {
  clock_.witness(msg.ltime);
  MemberState* ms = find(msg.node);
  if (!ms) return upsert_intent(msg.node, MessageType::Join, msg.ltime);
  if (msg.ltime <= ms->status_ltime) return false;
  ms->status_ltime = msg.ltime;
  // A leaving member that sends a newer join is back (it refuted a leave intent).
  if (ms->member.status == MemberStatus::Leaving) {
    ms->member.status = MemberStatus::Alive;
    log_status(*ms, MemberStatus::Leaving, "join intent");
  }
  return true;
}

void Serf::erase_node(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  Member m = it->second.member;
  members_.erase(it);
  if (coord_client_) {
    coord_client_->forget_node(name);
    coord_cache_.erase(name);
  }
  log_->info("member {} {} reaped (status {})", name, addr_string(m.addr), to_string(m.status));
  emit(MemberEvent{EventType::MemberReap, {std::move(m)}});
}

// ---------------------------------------------------------------- user events

std::string Serf::user_event(const std::string& name, const Bytes& payload, bool coalesce) {
  size_t before = name.size() + payload.size();
  auto limit = std::to_string(config_.user_event_size_limit);
  auto sane = std::to_string(kUserEventSizeLimitMax);
  if (before > config_.user_event_size_limit)
    return "user event exceeds configured limit of " + limit + " bytes before encoding";
  if (before > kUserEventSizeLimitMax)
    return "user event exceeds sane limit of " + sane + " bytes before encoding";
  MessageUserEvent msg{event_clock_.time(), name, payload, coalesce};
  Bytes raw = encode(msg);
  if (raw.size() > config_.user_event_size_limit)
    return "encoded user event exceeds configured limit of " + limit + " bytes after encoding";
  if (raw.size() > kUserEventSizeLimitMax)
    return "encoded user event exceeds sane limit of " + sane + " bytes before encoding";
  event_clock_.increment();
  ++counters_.events_sent;
  handle_user_event(msg);
  event_broadcasts_.queue(std::move(raw));
  return {};
}

bool Serf::handle_user_event(const MessageUserEvent& msg) {
  event_clock_.witness(msg.ltime);
  if (msg.ltime < event_min_time_) return false;
  LamportTime now = event_clock_.time();
  if (too_old(msg.ltime, now, event_buffer_.size())) {
    log_->warn("received old event {} from time {} (current: {})", msg.name, msg.ltime, now);
    return false;
  }
  if (!event_buffer_.insert(msg.ltime, msg.name, msg.payload)) return false;
  emit(UserEvent{msg.ltime, msg.name, msg.payload, msg.cc});
  return true;
}

// ---------------------------------------------------------------- queries

gossip::Duration Serf::default_query_timeout() const {
  auto n = static_cast<double>(memberlist_->num_alive());
  auto scale = static_cast<int64_t>(std::ceil(std::log10(n + 1)));
  return config_.memberlist.gossip_interval * config_.query_timeout_mult * scale;
}

QueryParam Serf::default_query_params() const {
  QueryParam p;
  p.timeout = default_query_timeout();
  return p;
}

std::shared_ptr<QueryResponse> Serf::query(const std::string& name, const Bytes& payload,
                                           const QueryParam& params, std::string* error) {
  auto fail = [&](std::string text) -> std::shared_ptr<QueryResponse> {
    if (error) *error = std::move(text);
    return nullptr;
  };
  if (config_.protocol_version < 4) return fail("Feature not supported");
  gossip::Duration timeout = params.timeout.count() ? params.timeout : default_query_timeout();
  gossip::Node local = memberlist_->local_node();

  MessageQuery q;
  q.ltime = query_clock_.time();
  q.id = static_cast<uint32_t>(rng_() & 0x7fffffff);  // Go: uint32(rand.Int31())
  q.addr = local.addr.ip;
  q.port = local.addr.port;
  q.source_node = local.name;
  q.filters = params.encode_filters();
  q.flags = params.request_ack ? kQueryFlagAck : 0;
  q.relay_factor = params.relay_factor;
  q.timeout = timeout;
  q.name = name;
  q.payload = payload;

  Bytes raw = encode(q);
  if (raw.size() > config_.query_size_limit)
    return fail("query exceeds limit of " + std::to_string(config_.query_size_limit) + " bytes");

  auto resp =
      std::make_shared<QueryResponse>(q.id, q.ltime, sched_.now() + timeout, params.request_ack);
  // A previous query at the same LTime (only possible after a clock reset) is closed first.
  if (auto old = query_responses_.find(q.ltime); old != query_responses_.end()) {
    sched_.cancel(old->second.timer);
    auto prev = old->second.response;
    query_responses_.erase(old);
    prev->close();
  }
  auto ltime = q.ltime;
  auto timer = sched_.schedule(timeout, [this, alive = lifetime_.watch(), ltime, resp] {
    if (alive.expired()) return;
    auto it = query_responses_.find(ltime);
    if (it != query_responses_.end() && it->second.response == resp) query_responses_.erase(it);
    resp->close();
  });
  query_responses_[q.ltime] = RunningQuery{resp, timer};
  ++counters_.queries_sent;

  handle_query(q);
  query_broadcasts_.queue(std::move(raw));
  return resp;
}

bool Serf::handle_query(const MessageQuery& q) {
  query_clock_.witness(q.ltime);
  if (q.ltime < query_min_time_) return false;
  LamportTime now = query_clock_.time();
  if (too_old(q.ltime, now, query_buffer_.size())) {
    log_->warn("received old query {} from time {} (current: {})", q.name, q.ltime, now);
    return false;
  }
  if (!query_buffer_.insert(q.ltime, q.id)) return false;

  // Decided before the filters: nodes that do not match still pass the query on.
  bool rebroadcast = !q.no_broadcast();

  std::string warning;
  if (!should_process_query(q.filters, config_.node_name, config_.tags, &warning)) {
    if (!warning.empty()) log_->warn("{}", warning);
    return rebroadcast;
  }

  gossip::Address reply_to{q.addr, q.port};
  if (q.ack()) {
    MessageQueryResponse ack{q.ltime, q.id, config_.node_name, kQueryFlagAck, {}};
    send_to(reply_to, encode(ack));
    auto err = relay_response(q.relay_factor, reply_to, q.source_node, ack);
    if (!err.empty()) log_->error("failed to relay ack: {}", err);
  }

  auto ev = std::make_shared<Query>(std::weak_ptr<QueryResponder>(responder_));
  ev->ltime = q.ltime;
  ev->name = q.name;
  ev->payload = q.payload;
  ev->id = q.id;
  ev->addr = q.addr;
  ev->port = q.port;
  ev->source_node = q.source_node;
  ev->deadline = sched_.now() + q.timeout;
  ev->relay_factor = q.relay_factor;
  emit(std::move(ev));
  return rebroadcast;
}

void Serf::handle_query_response(const MessageQueryResponse& resp) {
  auto it = query_responses_.find(resp.ltime);
  if (it == query_responses_.end()) {
    log_->warn("reply for non-running query (LTime: {}, ID: {}) From: {}", resp.ltime, resp.id,
               resp.from);
    return;
  }
  auto query = it->second.response;
  if (query->id() != resp.id) {
    log_->warn("query reply ID mismatch (Local: {}, Response: {})", query->id(), resp.id);
    return;
  }
  if (query->finished(sched_.now())) return;
  ++counters_.query_responses;
  if (resp.ack()) {
    query->add_ack(resp.from);
  } else {
    query->add_response(NodeResponse{resp.from, resp.payload});
  }
}

std::string Serf::relay_response(uint8_t relay_factor, const gossip::Address& addr,
                                 const std::string& node, const MessageQueryResponse& resp) {
  if (relay_factor == 0) return {};
  // Only worth it with at least relay_factor other members.
  if (members_.size() < static_cast<size_t>(relay_factor) + 1) return {};
  Bytes raw = encode_relay(RelayHeader{addr, node}, encode(resp));
  if (raw.size() > config_.query_response_size_limit)
    return "relayed response exceeds limit of " +
           std::to_string(config_.query_response_size_limit) + " bytes";
  auto chosen = k_random_members(
      relay_factor, members(),
      [this](const Member& m) {
        return m.status != MemberStatus::Alive || m.protocol_max < 5 || m.name == config_.node_name;
      },
      rng_);
  for (const auto& m : chosen) send_to(m.addr, raw);
  return {};
}

void Serf::send_to(const gossip::Address& to, const Bytes& msg) {
  if (state_ == State::Shutdown) return;
  memberlist_->send_user_packet(to, msg);
}

// ---------------------------------------------------------------- gossip::Delegate

Bytes Serf::node_meta(size_t limit) {
  Bytes meta = encode_tags(config_.tags, config_.protocol_version);
  if (meta.size() > limit)
    log_->error("Node tags exceed length limit of {} bytes ({} bytes)", limit, meta.size());
  return meta;
}

void Serf::notify_msg(std::span<const uint8_t> buf) {
  if (buf.empty()) return;
  auto type = static_cast<MessageType>(buf[0]);
  auto body = buf.subspan(1);
  if (buf[0] < SerfCounters::kTypes) ++counters_.received[buf[0]];
  bool rebroadcast = false;
  gossip::BroadcastQueue* queue = &broadcasts_;
  try {
    switch (type) {
      case MessageType::Leave: {
        auto m = decode_leave(body);
        log_->debug("messageLeaveType: {}", m.node);
        rebroadcast = handle_node_leave_intent(m);
        break;
      }
      case MessageType::Join: {
        auto m = decode_join(body);
        log_->debug("messageJoinType: {}", m.node);
        rebroadcast = handle_node_join_intent(m);
        break;
      }
      case MessageType::UserEvent: {
        auto m = decode_user_event(body);
        log_->debug("messageUserEventType: {}", m.name);
        rebroadcast = handle_user_event(m);
        queue = &event_broadcasts_;
        break;
      }
      case MessageType::Query: {
        auto m = decode_query(body);
        log_->debug("messageQueryType: {}", m.name);
        rebroadcast = handle_query(m);
        queue = &query_broadcasts_;
        break;
      }
      case MessageType::QueryResponse: {
        auto m = decode_query_response(body);
        log_->debug("messageQueryResponseType: {}", m.from);
        handle_query_response(m);
        break;
      }
      case MessageType::Relay: {
        size_t rest = 0;
        auto header = decode_relay_header(body, rest);
        auto inner = body.subspan(rest);
        if (inner.empty()) {
          log_->error("Error forwarding message to {}: empty relayed message",
                      addr_string(header.dest_addr));
          break;
        }
        log_->debug("Relaying response to addr: {}", addr_string(header.dest_addr));
        send_to(header.dest_addr, Bytes(inner.begin(), inner.end()));
        break;
      }
      default:
        ++counters_.malformed;
        log_->warn("Received message of unknown type: {}", static_cast<int>(buf[0]));
        break;
    }
  } catch (const mp::DecodeError& e) {
    ++counters_.malformed;
    log_->error("Error decoding message of type {}: {}", static_cast<int>(buf[0]), e.what());
    return;
  }
  if (rebroadcast) queue->queue(Bytes(buf.begin(), buf.end()));
}

std::vector<Bytes> Serf::get_broadcasts(size_t overhead, size_t limit) {
  auto msgs = broadcasts_.get(overhead, limit);
  size_t used = 0;
  for (const auto& m : msgs) used += m.size() + overhead;
  if (used < limit) {
    auto q = query_broadcasts_.get(overhead, limit - used);
    for (auto& m : q) {
      used += m.size() + overhead;
      msgs.push_back(std::move(m));
    }
  }
  if (used < limit) {
    auto e = event_broadcasts_.get(overhead, limit - used);
    for (auto& m : e) msgs.push_back(std::move(m));
  }
  return msgs;
}

Bytes Serf::local_state(bool /*join*/) {
  MessagePushPull pp;
  pp.ltime = clock_.time();
  for (const auto& [name, ms] : members_) pp.status_ltimes[name] = ms.status_ltime;
  pp.left_members = left_members_;
  pp.event_ltime = event_clock_.time();
  pp.events = event_buffer_.slots();
  pp.query_ltime = query_clock_.time();
  return encode(pp);
}

void Serf::merge_remote_state(std::span<const uint8_t> buf, bool join) {
  if (buf.empty()) {
    log_->error("Remote state is zero bytes");
    return;
  }
  if (buf[0] != static_cast<uint8_t>(MessageType::PushPull)) {
    log_->error("Remote state has bad type prefix: {}", static_cast<int>(buf[0]));
    return;
  }
  MessagePushPull pp;
  try {
    pp = decode_push_pull(buf.subspan(1));
  } catch (const mp::DecodeError& e) {
    log_->error("Failed to decode remote state: {}", e.what());
    return;
  }
  // Minus one: no message with the sender's current time exists yet.
  if (pp.ltime > 0) clock_.witness(pp.ltime - 1);
  if (pp.event_ltime > 0) event_clock_.witness(pp.event_ltime - 1);
  if (pp.query_ltime > 0) query_clock_.witness(pp.query_ltime - 1);

  // Left members first, one past their status time: a leave was accepted after that join.
  std::set<std::string> left(pp.left_members.begin(), pp.left_members.end());
  for (const auto& name : pp.left_members) {
    auto it = pp.status_ltimes.find(name);
    LamportTime lt = (it == pp.status_ltimes.end() ? 0 : it->second) + 1;
    handle_node_leave_intent(MessageLeave{lt, name, false});
  }
  for (const auto& [name, lt] : pp.status_ltimes) {
    if (left.contains(name)) continue;
    handle_node_join_intent(MessageJoin{lt, name});
  }

  if (join && event_join_ignore_ > 0) event_min_time_ = std::max(event_min_time_, pp.event_ltime);

  for (const auto& slot : pp.events) {
    if (!slot) continue;
    for (const auto& e : slot->events) {
      handle_user_event(MessageUserEvent{slot->ltime, e.name, e.payload, false});
    }
  }
}

// ---------------------------------------------------------------- gossip::PingDelegate

Bytes Serf::ack_payload() {
  Bytes out{kPingVersion};
  if (coord_client_) {
    auto c = coordinate::encode(coord_client_->coordinate());
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

void Serf::notify_ping_complete(const gossip::Node& other, gossip::Duration rtt,
                                std::span<const uint8_t> payload) {
  if (payload.empty() || !coord_client_) return;
  if (payload[0] != kPingVersion) {
    log_->error("Unsupported ping version: {}", static_cast<int>(payload[0]));
    return;
  }
  coordinate::Coordinate coord;
  try {
    coord = coordinate::decode(payload.subspan(1));
  } catch (const mp::DecodeError& e) {
    log_->error("Failed to decode coordinate from ping: {}", e.what());
    return;
  }
  auto err = coord_client_->update(other.name, coord, rtt);
  if (!err.empty()) {
    log_->trace("Rejected coordinate from {}: {}", other.name, err);
    return;
  }
  coord_cache_[other.name] = coord;
  coord_cache_[config_.node_name] = coord_client_->coordinate();
}

// ---------------------------------------------------------------- gossip::ConflictDelegate

void Serf::notify_conflict(const gossip::Node& existing, const gossip::Node& other) {
  if (existing.name != config_.node_name) {
    log_->warn("Name conflict for '{}' both {} and {} are claiming", existing.name,
               addr_string(existing.addr), addr_string(other.addr));
    return;
  }
  log_->error(
      "Node name conflicts with another node at {}. Names must be unique! (Resolution "
      "enabled: {})",
      addr_string(other.addr), config_.enable_name_conflict_resolution);
  if (config_.enable_name_conflict_resolution) {
    sched_.post([this, alive = lifetime_.watch()] {
      if (!alive.expired()) resolve_node_conflict();
    });
  }
}

void Serf::resolve_node_conflict() {
  gossip::Node local = memberlist_->local_node();
  std::string err;
  Bytes payload(config_.node_name.begin(), config_.node_name.end());
  auto resp = query("_serf_conflict", payload, default_query_params(), &err);
  if (!resp) {
    log_->error("Failed to start name resolution query: {}", err);
    return;
  }
  struct Tally {
    int responses = 0;
    int matching = 0;
  };
  auto tally = std::make_shared<Tally>();
  resp->on_response = [this, tally, local](const NodeResponse& r) {
    if (r.payload.empty() || r.payload[0] != static_cast<uint8_t>(MessageType::ConflictResponse)) {
      log_->error("Invalid conflict query response type from {}", r.from);
      return;
    }
    std::optional<Member> m;
    try {
      m = decode_conflict_response(std::span<const uint8_t>(r.payload).subspan(1));
    } catch (const mp::DecodeError& e) {
      log_->error("Failed to decode conflict query response: {}", e.what());
      return;
    }
    tally->responses++;
    if (m && m->addr.ip == local.addr.ip && m->addr.port == local.addr.port) tally->matching++;
  };
  resp->on_done = [this, alive = lifetime_.watch(), tally] {
    if (alive.expired()) return;
    int majority = tally->responses / 2 + 1;
    if (tally->matching >= majority) {
      log_->info("majority in name conflict resolution [{} / {}]", tally->matching,
                 tally->responses);
      return;
    }
    log_->warn("minority in name conflict resolution, quitting [{} / {}]", tally->matching,
               tally->responses);
    sched_.post([this, alive] {
      if (!alive.expired()) shutdown();
    });
  };
}

// ---------------------------------------------------------------- event delivery

int Serf::subscribe(EventHandler handler) {
  int id = next_subscriber_++;
  subscribers_[id] = std::move(handler);
  return id;
}

void Serf::unsubscribe(int id) {
  subscribers_.erase(id);
}

void Serf::emit(Event e) {
  pending_events_.push_back(std::move(e));
  if (drain_posted_) return;
  drain_posted_ = true;
  sched_.post([this, alive = lifetime_.watch()] {
    if (!alive.expired()) drain_events();
  });
}

void Serf::drain_events() {
  drain_posted_ = false;
  while (!pending_events_.empty()) {
    Event e = std::move(pending_events_.front());
    pending_events_.pop_front();
    if (auto* q = std::get_if<std::shared_ptr<Query>>(&e)) {
      if ((*q)->name.rfind(InternalQueries::kPrefix, 0) == 0) {
        internal_queries_->handle(*q);
        continue;
      }
    }
    if (user_coalescer_ && user_coalescer_->offer(e)) continue;
    if (member_coalescer_ && member_coalescer_->offer(e)) continue;
    deliver(e);
  }
}

void Serf::deliver(const Event& e) {
  // A copy: a handler may unsubscribe (itself or others) while we iterate.
  auto subs = subscribers_;
  for (auto& [id, handler] : subs) {
    if (!subscribers_.contains(id)) continue;
    try {
      handler(e);
    } catch (const std::exception& ex) {
      log_->error("event subscriber {} failed: {}", id, ex.what());
    }
  }
}

// ---------------------------------------------------------------- periodic work

void Serf::reap_list(std::vector<std::string>& list, gossip::Duration timeout) {
  auto now = sched_.now();
  for (size_t i = 0; i < list.size();) {
    MemberState* ms = find(list[i]);
    if (ms && now - ms->leave_time <= timeout) {
      ++i;
      continue;
    }
    std::string name = list[i];
    list[i] = list.back();
    list.pop_back();
    if (!ms) continue;  // already erased (pruned)
    log_->info("EventMemberReap: {}", name);
    erase_node(name);
  }
}

void Serf::reap() {
  reap_list(failed_members_, config_.reconnect_timeout);
  reap_list(left_members_, config_.tombstone_timeout);
  auto now = sched_.now();
  for (auto it = recent_intents_.begin(); it != recent_intents_.end();) {
    if (now - it->second.wall_time > config_.recent_intent_timeout) {
      it = recent_intents_.erase(it);
    } else {
      ++it;
    }
  }
}

void Serf::reconnect() {
  if (failed_members_.empty() || state_ != State::Alive) return;
  // Probability failed/alive: the cluster as a whole tries each failed member about once
  // per interval.
  auto failed = static_cast<float>(failed_members_.size());
  auto alive = static_cast<float>(members_.size() - failed_members_.size() - left_members_.size());
  if (alive <= 0) alive = 1;
  std::uniform_real_distribution<float> coin(0.0f, 1.0f);
  if (coin(rng_) > failed / alive) {
    log_->debug("forgoing reconnect for random throttling");
    return;
  }
  std::uniform_int_distribution<size_t> pick(0, failed_members_.size() - 1);
  MemberState* ms = find(failed_members_[pick(rng_)]);
  if (!ms) return;
  std::string addr = ms->member.addr.to_string();
  log_->info("attempting reconnect to {} {}", ms->member.name, addr);
  memberlist_->join({ms->member.name + "/" + addr}, [](int, const std::string&) {});
}

size_t Serf::queue_max() const {
  size_t max = config_.max_queue_depth;
  if (config_.min_queue_depth > 0) max = std::max(2 * members_.size(), config_.min_queue_depth);
  return max;
}

void Serf::check_queue_depth(const char* name, gossip::BroadcastQueue& queue) {
  size_t n = queue.size();
  if (n >= config_.queue_depth_warning) log_->warn("{} queue depth: {}", name, n);
  size_t max = queue_max();
  if (n > max) {
    log_->warn("{} queue depth ({}) exceeds limit ({}), dropping messages!", name, n, max);
    queue.prune(max);
  }
}

}  // namespace kc::serf
