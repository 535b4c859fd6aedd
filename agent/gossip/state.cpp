// alive / suspect / dead handling and refutation, following memberlist 0.2.2's state.go
// (docs/wire.md, "Failure detection and gossip").
#include <algorithm>

#include "agent/gossip/member_name.h"
#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

namespace {

Address address_of(const AliveView& a) {
  return Address{Bytes(a.addr.begin(), a.addr.end()), a.port};
}

Vsn to_vsn(std::span<const uint8_t> b) {
  Vsn v{};
  std::copy_n(b.begin(), std::min<size_t>(6, b.size()), v.begin());
  return v;
}

}  // namespace

Memberlist::Impl::Entry& Memberlist::Impl::local() const {
  Entry* e = entry(config_.name);
  if (!e) throw std::logic_error("memberlist: no local entry before start()");
  return *e;
}

void Memberlist::Impl::set_state(Entry& e, NodeState state) {
  --state_counts_[size_t(e.state)];
  ++state_counts_[size_t(state)];
  e.state = state;
}

Suspicion* Memberlist::Impl::suspicion_of(const Entry& e) {
  auto it = suspicions_.find(&e);
  return it == suspicions_.end() ? nullptr : it->second.get();
}

bool Memberlist::Impl::any_alive_other() const {
  for (auto& e : nodes_)
    if (e->name != self_name_ && e->state != NodeState::Dead && e->state != NodeState::Left)
      return true;
  return false;
}

void Memberlist::Impl::broadcast(std::string_view name, Bytes msg,
                                 BroadcastQueue::Finished notify) {
  broadcasts_.queue(std::move(msg), name, std::move(notify));
}

void Memberlist::Impl::alive_node(const AliveView& a, bool bootstrap,
                                  BroadcastQueue::Finished notify) {
  if (leaving_ && a.node == config_.name) return;
  if (auto bad = member_name_error(a.node); !bad.empty()) {
    ++stats_.dropped(DropReason::BadName);
    log_limited(drop_log_, "Ignoring an alive message: " + bad);
    return;
  }
  if (a.vsn.size() >= 3 && (a.vsn[0] == 0 || a.vsn[1] == 0 || a.vsn[0] > a.vsn[1])) {
    log_->warn("Ignoring an alive message for '{}': invalid protocol versions", a.node);
    return;
  }
  if (a.addr.size() > 16) {  // decoders refuse these already; the packed table cannot hold one
    ++stats_.dropped(DropReason::BadAddress);
    return;
  }
  Entry* e = entry(a.node);
  bool updates_node = false;
  if (!e) {
    auto fresh = std::make_unique<Entry>();
    fresh->name = Interned(a.node);
    fresh->set_addr(a.addr, a.port);
    fresh->meta = Interned(std::span<const uint8_t>(a.meta));
    fresh->state = NodeState::Dead;
    ++state_counts_[size_t(NodeState::Dead)];
    if (a.vsn.size() > 5) fresh->vsn = to_vsn(a.vsn);
    e = fresh.get();
    node_map_.insert(e);
    // Insert at a random position so that probe order stays random (failure detection bound).
    nodes_.push_back(std::move(fresh));
    size_t offset = std::uniform_int_distribution<size_t>(0, nodes_.size() - 1)(rng_);
    std::swap(nodes_[offset], nodes_.back());
  } else if (!e->has_addr(a.addr, a.port)) {
    Address addr = address_of(a);
    if (e->state == NodeState::Left) {
      log_->info("Updating address for left node {} from {} to {}", a.node, e->addr().to_string(),
                 addr.to_string());
      updates_node = true;
    } else {
      log_->error("Conflicting address for {}. Mine: {} Theirs: {} Old state: {}", a.node,
                  e->addr().to_string(), addr.to_string(), to_string(e->state));
      if (delegates_.conflict) {
        Node other;
        other.name = std::string(a.node);
        other.addr = addr;
        other.meta = Bytes(a.meta.begin(), a.meta.end());
        delegates_.conflict->notify_conflict(e->to_node(), other);
      }
      return;
    }
  }
  bool is_local = a.node == config_.name;
  if (a.incarnation <= e->incarnation && !is_local && !updates_node) return;
  if (a.incarnation < e->incarnation && is_local) return;
  end_suspicion(*e);

  NodeState old_state = e->state;
  Interned old_meta = e->meta;
  if (!bootstrap && is_local) {
    // Same incarnation with identical content is our own alive coming back: nothing to do.
    if (a.incarnation == e->incarnation && e->meta_is(a.meta) &&
        std::ranges::equal(a.vsn, e->vsn_bytes()))
      return;
    refute(*e, a.incarnation);
    log_->warn("Refuting an alive message for '{}' ({})", a.node, address_of(a).to_string());
  } else {
    broadcast(a.node, encode(a), std::move(notify));
    if (a.vsn.size() > 5) e->vsn = to_vsn(a.vsn);
    e->incarnation = a.incarnation;
    if (!e->meta_is(a.meta)) e->meta = Interned(std::span<const uint8_t>(a.meta));
    e->set_addr(a.addr, a.port);
    if (e->state != NodeState::Alive) {
      set_state(*e, NodeState::Alive);
      e->state_change = sched_.now();
    }
    if (is_local) incarnation_ = std::max(incarnation_, a.incarnation);
  }
  if (old_state == NodeState::Dead || old_state == NodeState::Left) {
    log_->info("Member {} ({}) is alive (incarnation {})", e->name.str(), e->addr().to_string(),
               e->incarnation);
    if (delegates_.events) delegates_.events->notify_join(e->to_node());
  } else if (old_meta != e->meta) {
    if (delegates_.events) delegates_.events->notify_update(e->to_node());
  }
}

void Memberlist::Impl::suspect_node(const Suspect& s) {
  Entry* e = entry(s.node);
  if (!e) return;
  if (s.incarnation < e->incarnation) return;
  // An existing timer takes confirmations; a new independent one is re-gossiped so that
  // confirmations flow even while the node is already suspect.
  if (Suspicion* timer = suspicion_of(*e)) {
    if (timer->confirm(s.from)) broadcast(s.node, encode(s));
    return;
  }
  if (e->state != NodeState::Alive) return;
  if (s.node == config_.name) {
    refute(*e, s.incarnation);
    log_->warn("Refuting a suspect message (from: {})", s.from);
    return;
  }
  broadcast(s.node, encode(s));
  e->incarnation = s.incarnation;
  set_state(*e, NodeState::Suspect);
  ++stats_.suspicions;
  TimePoint change = sched_.now();
  e->state_change = change;
  log_->info("Member {} ({}) is suspect (accused by {})", e->name.str(), e->addr().to_string(),
             s.from);

  // Expect k confirmations so the nominal timeout is hit two probe intervals early.
  int k = config_.suspicion_mult - 2;
  size_t n = nodes_.size();
  if (int(n) - 2 < k) k = 0;
  Duration min = suspicion_timeout(config_.suspicion_mult, n, config_.probe_interval);
  Duration max = min * config_.suspicion_max_timeout_mult;
  std::string name = s.node;
  suspicions_[e] = std::make_unique<Suspicion>(
      sched_, s.from, k, min, max, [this, name, change](int confirmations) {
        Entry* target = entry(name);
        if (!target || target->state != NodeState::Suspect || target->state_change != change)
          return;
        last_chance(name, change, confirmations);
      });
}

// Before a suspect is declared dead, one push/pull with it, bounded by a probe interval.
// Under heavy loss a member can refute in time while every copy of its refutation misses
// the accuser (memberlist then declares it dead anyway; seen at 10 % loss per link). The
// push/pull hands us its newer incarnation over TCP and the merge ends the suspicion. A
// member that is really gone refuses the connection or times out, and is declared dead at
// most one probe interval later than memberlist would. Nothing new goes on the wire.
void Memberlist::Impl::last_chance(const std::string& name, TimePoint change, int confirmations) {
  Entry* target = entry(name);
  if (!target) return;
  auto still_suspect = [this, name, change] {
    Entry* t = entry(name);
    return t && t->state == NodeState::Suspect && t->state_change == change ? t : nullptr;
  };
  auto declare = [this, still_suspect, name, confirmations] {
    Entry* t = still_suspect();
    if (!t) return;
    log_->info("Marking {} as failed, suspect timeout reached ({} peer confirmations)", name,
               confirmations);
    // dead_node resets the suspicion that may be calling us: defer to the loop.
    Dead d{t->incarnation, name, config_.name};
    sched_.post([this, d, token = lifetime_.watch()] {
      if (!token.expired()) dead_node(d);
    });
  };
  auto token = lifetime_.watch();
  push_pull_node(
      target->addr(), false,
      [this, token, declare, still_suspect, name](const std::string& error) {
        if (token.expired()) return;
        if (error.empty() && !still_suspect())
          log_->info("Suspect {} answered a last push/pull with a refutation: not failed", name);
        declare();
      },
      config_.probe_interval);
}

void Memberlist::Impl::dead_node(const Dead& d) {
  Entry* e = entry(d.node);
  if (!e) return;
  if (d.incarnation < e->incarnation) return;
  end_suspicion(*e);
  if (e->state == NodeState::Dead || e->state == NodeState::Left) return;
  if (d.node == config_.name) {
    if (!leaving_) {
      refute(*e, d.incarnation);
      log_->warn("Refuting a dead message (from: {})", d.from);
      return;
    }
    broadcast(d.node, encode(d), std::move(leave_done_));
    leave_done_ = nullptr;
  } else {
    broadcast(d.node, encode(d));
  }
  e->incarnation = d.incarnation;
  set_state(*e, d.node == d.from ? NodeState::Left : NodeState::Dead);
  e->state_change = sched_.now();
  log_->info("Member {} ({}) is {}{}", e->name.str(), e->addr().to_string(), to_string(e->state),
             e->state == NodeState::Dead ? " (declared by " + d.from + ")" : "");
  if (delegates_.events) delegates_.events->notify_leave(e->to_node());
}

void Memberlist::Impl::refute(Entry& me, uint32_t accused) {
  uint32_t inc = ++incarnation_;
  if (accused >= inc) inc = incarnation_ = accused + 1;
  me.incarnation = inc;
  awareness_.apply_delta(1);
  ++stats_.refutations;
  Address addr = me.addr();
  Alive a{inc, me.name.str(), addr.ip, addr.port, me.meta_bytes(), me.vsn_bytes()};
  // Go names this broadcast by our address, not our name (a quirk kept for fidelity).
  broadcast(addr.to_string(), encode(a));
}

void Memberlist::Impl::reap_dead_nodes() {
  // memberlist 0.2.2 removes only dead nodes, after GossipToTheDeadTime; left nodes stay.
  TimePoint now = sched_.now();
  auto reapable = [&](const std::unique_ptr<Entry>& e) {
    return e->state == NodeState::Dead && now - e->state_change > config_.gossip_to_the_dead_time;
  };
  for (auto& e : nodes_)
    if (reapable(e)) {
      node_map_.erase(e->name.view());
      end_suspicion(*e);
      --state_counts_[size_t(NodeState::Dead)];
    }
  std::erase_if(nodes_, reapable);
  std::shuffle(nodes_.begin(), nodes_.end(), rng_);
}

std::vector<Memberlist::Impl::Entry*> Memberlist::Impl::random_nodes(
    size_t k, const std::function<bool(const Entry&)>& exclude) {
  // memberlist's kRandomNodes: up to 3n random picks, skipping duplicates and excluded ones.
  std::vector<Entry*> out;
  size_t n = nodes_.size();
  for (size_t i = 0; i < 3 * n && out.size() < k; ++i) {
    Entry* e = nodes_[std::uniform_int_distribution<size_t>(0, n - 1)(rng_)].get();
    if (exclude(*e)) continue;
    if (std::find(out.begin(), out.end(), e) != out.end()) continue;
    out.push_back(e);
  }
  return out;
}

}  // namespace kc::gossip
