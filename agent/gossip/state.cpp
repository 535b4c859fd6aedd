// alive / suspect / dead handling and refutation, following memberlist 0.2.2's state.go
// (docs/wire.md, "Failure detection and gossip").
#include <algorithm>

#include "agent/gossip/member_name.h"
#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

namespace {

Vsn to_vsn(const Bytes& b) {
  Vsn v{};
  std::copy_n(b.begin(), std::min<size_t>(6, b.size()), v.begin());
  return v;
}

}  // namespace

Memberlist::Impl::Entry* Memberlist::Impl::entry(const std::string& name) {
  auto it = node_map_.find(name);
  return it == node_map_.end() ? nullptr : it->second;
}

Memberlist::Impl::Entry& Memberlist::Impl::local() {
  return *node_map_.at(config_.name);
}

bool Memberlist::Impl::any_alive_other() const {
  for (auto& e : nodes_)
    if (e->node.name != config_.name && e->node.state != NodeState::Dead &&
        e->node.state != NodeState::Left)
      return true;
  return false;
}

void Memberlist::Impl::broadcast(const std::string& name, Bytes msg,
                                 BroadcastQueue::Finished notify) {
  broadcasts_.queue(std::move(msg), name, std::move(notify));
}

void Memberlist::Impl::alive_node(const Alive& a, bool bootstrap, BroadcastQueue::Finished notify) {
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
  Address addr{a.addr, a.port};
  Entry* e = entry(a.node);
  bool updates_node = false;
  if (!e) {
    auto fresh = std::make_unique<Entry>();
    fresh->node.name = a.node;
    fresh->node.addr = addr;
    fresh->node.meta = a.meta;
    fresh->node.state = NodeState::Dead;
    if (a.vsn.size() > 5) fresh->node.vsn = to_vsn(a.vsn);
    e = fresh.get();
    node_map_[a.node] = e;
    // Insert at a random position so that probe order stays random (failure detection bound).
    nodes_.push_back(std::move(fresh));
    size_t offset = std::uniform_int_distribution<size_t>(0, nodes_.size() - 1)(rng_);
    std::swap(nodes_[offset], nodes_.back());
  } else if (e->node.addr != addr) {
    if (e->node.state == NodeState::Left) {
      log_->info("Updating address for left node {} from {} to {}", a.node,
                 e->node.addr.to_string(), addr.to_string());
      updates_node = true;
    } else {
      log_->error("Conflicting address for {}. Mine: {} Theirs: {} Old state: {}", a.node,
                  e->node.addr.to_string(), addr.to_string(), to_string(e->node.state));
      if (delegates_.conflict) {
        Node other;
        other.name = a.node;
        other.addr = addr;
        other.meta = a.meta;
        delegates_.conflict->notify_conflict(e->node, other);
      }
      return;
    }
  }
  bool is_local = a.node == config_.name;
  if (a.incarnation <= e->node.incarnation && !is_local && !updates_node) return;
  if (a.incarnation < e->node.incarnation && is_local) return;
  e->suspicion.reset();

  NodeState old_state = e->node.state;
  Bytes old_meta = e->node.meta;
  if (!bootstrap && is_local) {
    Bytes versions(e->node.vsn.begin(), e->node.vsn.end());
    // Same incarnation with identical content is our own alive coming back: nothing to do.
    if (a.incarnation == e->node.incarnation && a.meta == e->node.meta && a.vsn == versions) return;
    refute(*e, a.incarnation);
    log_->warn("Refuting an alive message for '{}' ({})", a.node, addr.to_string());
  } else {
    broadcast(a.node, encode(a), std::move(notify));
    if (a.vsn.size() > 5) e->node.vsn = to_vsn(a.vsn);
    e->node.incarnation = a.incarnation;
    e->node.meta = a.meta;
    e->node.addr = addr;
    if (e->node.state != NodeState::Alive) {
      e->node.state = NodeState::Alive;
      e->node.state_change = sched_.now();
    }
    if (is_local) incarnation_ = std::max(incarnation_, a.incarnation);
  }
  if (old_state == NodeState::Dead || old_state == NodeState::Left) {
    log_->info("Member {} ({}) is alive (incarnation {})", e->node.name, e->node.addr.to_string(),
               e->node.incarnation);
    if (delegates_.events) delegates_.events->notify_join(e->node);
  } else if (old_meta != e->node.meta) {
    if (delegates_.events) delegates_.events->notify_update(e->node);
  }
}

void Memberlist::Impl::suspect_node(const Suspect& s) {
  Entry* e = entry(s.node);
  if (!e) return;
  if (s.incarnation < e->node.incarnation) return;
  // An existing timer takes confirmations; a new independent one is re-gossiped so that
  // confirmations flow even while the node is already suspect.
  if (e->suspicion) {
    if (e->suspicion->confirm(s.from)) broadcast(s.node, encode(s));
    return;
  }
  if (e->node.state != NodeState::Alive) return;
  if (s.node == config_.name) {
    refute(*e, s.incarnation);
    log_->warn("Refuting a suspect message (from: {})", s.from);
    return;
  }
  broadcast(s.node, encode(s));
  e->node.incarnation = s.incarnation;
  e->node.state = NodeState::Suspect;
  ++stats_.suspicions;
  TimePoint change = sched_.now();
  e->node.state_change = change;
  log_->info("Member {} ({}) is suspect (accused by {})", e->node.name, e->node.addr.to_string(),
             s.from);

  // Expect k confirmations so the nominal timeout is hit two probe intervals early.
  int k = config_.suspicion_mult - 2;
  size_t n = nodes_.size();
  if (int(n) - 2 < k) k = 0;
  Duration min = suspicion_timeout(config_.suspicion_mult, n, config_.probe_interval);
  Duration max = min * config_.suspicion_max_timeout_mult;
  std::string name = s.node;
  e->suspicion = std::make_unique<Suspicion>(
      sched_, s.from, k, min, max, [this, name, change](int confirmations) {
        Entry* target = entry(name);
        if (!target || target->node.state != NodeState::Suspect ||
            target->node.state_change != change)
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
    return t && t->node.state == NodeState::Suspect && t->node.state_change == change ? t : nullptr;
  };
  auto declare = [this, still_suspect, name, confirmations] {
    Entry* t = still_suspect();
    if (!t) return;
    log_->info("Marking {} as failed, suspect timeout reached ({} peer confirmations)", name,
               confirmations);
    // dead_node resets the suspicion that may be calling us: defer to the loop.
    Dead d{t->node.incarnation, name, config_.name};
    sched_.post([this, d, token = lifetime_.watch()] {
      if (!token.expired()) dead_node(d);
    });
  };
  auto token = lifetime_.watch();
  push_pull_node(
      target->node.addr, false,
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
  if (d.incarnation < e->node.incarnation) return;
  e->suspicion.reset();
  if (e->node.state == NodeState::Dead || e->node.state == NodeState::Left) return;
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
  e->node.incarnation = d.incarnation;
  e->node.state = d.node == d.from ? NodeState::Left : NodeState::Dead;
  e->node.state_change = sched_.now();
  log_->info("Member {} ({}) is {}{}", e->node.name, e->node.addr.to_string(),
             to_string(e->node.state),
             e->node.state == NodeState::Dead ? " (declared by " + d.from + ")" : "");
  if (delegates_.events) delegates_.events->notify_leave(e->node);
}

void Memberlist::Impl::refute(Entry& me, uint32_t accused) {
  uint32_t inc = ++incarnation_;
  if (accused >= inc) inc = incarnation_ = accused + 1;
  me.node.incarnation = inc;
  awareness_.apply_delta(1);
  ++stats_.refutations;
  Alive a{inc,
          me.node.name,
          me.node.addr.ip,
          me.node.addr.port,
          me.node.meta,
          Bytes(me.node.vsn.begin(), me.node.vsn.end())};
  // Go names this broadcast by our address, not our name (a quirk kept for fidelity).
  broadcast(me.node.addr.to_string(), encode(a));
}

void Memberlist::Impl::reap_dead_nodes() {
  // memberlist 0.2.2 removes only dead nodes, after GossipToTheDeadTime; left nodes stay.
  TimePoint now = sched_.now();
  auto reapable = [&](const std::unique_ptr<Entry>& e) {
    return e->node.state == NodeState::Dead &&
           now - e->node.state_change > config_.gossip_to_the_dead_time;
  };
  for (auto& e : nodes_)
    if (reapable(e)) node_map_.erase(e->node.name);
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
