// The SWIM probe cycle with Lifeguard's awareness (memberlist state.go probe/probeNode;
// docs/wire.md, "Failure detection and gossip"): direct ping, then indirect pings through k peers
// plus a TCP fallback ping, then suspicion.
#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

void Memberlist::Impl::probe() {
  if (shutdown_ || leaving_) return;
  for (size_t checked = 0; checked <= nodes_.size(); ++checked) {
    if (probe_index_ >= nodes_.size()) {
      reap_dead_nodes();
      probe_index_ = 0;
      continue;
    }
    Entry& e = *nodes_[probe_index_++];
    if (e.name == self_name_ || e.state == NodeState::Dead || e.state == NodeState::Left) continue;
    probe_node(e.name.str());
    return;
  }
}

namespace {

// One probe in flight: what arrived so far and what is still outstanding.
struct ProbeRun {
  std::string target;
  uint32_t seq = 0;
  TimePoint sent;
  Duration interval{};
  bool acked = false;
  bool finished = false;
  bool handler_expired = false;
  int expected_nacks = 0;
  int nacks = 0;
  enum class Fallback { None, Pending, Contacted, Failed } fallback = Fallback::None;
};

}  // namespace

void Memberlist::Impl::probe_node(const std::string& name) {
  Entry* e = entry(name);
  if (!e) return;
  ++stats_.probes;
  probing_ = true;
  auto run = std::make_shared<ProbeRun>();
  run->target = name;
  run->seq = next_seq();
  run->sent = sched_.now();
  run->interval = awareness_.scale(config_.probe_interval);
  auto live = [token = lifetime_.watch()] { return !token.expired(); };

  Ping ping{run->seq, name, config_.advertise.ip, config_.advertise.port, config_.name};

  // Finishes the probe once the outcome is known: ack, or handler expiry with the TCP
  // fallback settled.
  auto conclude = std::make_shared<std::function<void()>>();
  *conclude = [this, run, live] {
    if (!live() || run->finished) return;
    if (!run->acked && !run->handler_expired) return;
    if (!run->acked && run->fallback == ProbeRun::Fallback::Pending) return;
    run->finished = true;
    probing_ = false;
    if (run->acked) {
      awareness_.apply_delta(-1);
      return;
    }
    if (run->fallback == ProbeRun::Fallback::Contacted) {
      log_->warn("Was able to connect to {} but other probes failed, network may be misconfigured",
                 run->target);
      awareness_.apply_delta(-1);
      return;
    }
    ++stats_.probe_failures;
    int delta = run->expected_nacks > 0 ? std::max(0, run->expected_nacks - run->nacks) : 1;
    awareness_.apply_delta(delta);
    Entry* t = entry(run->target);
    if (!t) return;
    log_->info("Suspect {} has failed, no acks received", run->target);
    suspect_node(Suspect{t->incarnation, t->name.str(), config_.name});
  };

  AckHandler handler;
  handler.on_ack = [this, run, conclude, name](const Bytes& payload) {
    if (run->acked || run->finished) return;
    run->acked = true;
    // Only a direct ack before the probe timeout measures the round trip (as Go does).
    Duration rtt = sched_.now() - run->sent;
    if (rtt <= config_.probe_timeout && delegates_.ping) {
      if (Entry* t = entry(name)) delegates_.ping->notify_ping_complete(t->to_node(), rtt, payload);
    }
    (*conclude)();
  };
  handler.on_nack = [run] { ++run->nacks; };
  set_ack_handler(run->seq, std::move(handler), run->interval, [run, conclude] {
    run->handler_expired = true;
    (*conclude)();
  });

  if (e->state == NodeState::Alive) {
    send_msg(e->addr(), encode(ping));
  } else {
    // A suspect target gets the accusation with the ping so it can refute at once.
    Suspect s{e->incarnation, e->name.str(), config_.name};
    send_parts(e->addr(), e, {encode(ping), encode(s)});
  }

  // After ProbeTimeout without an ack: indirect pings and the TCP fallback.
  // A plain scheduled call (no Timer): it checks liveness itself and must not own its timer.
  sched_.schedule(config_.probe_timeout, [this, run, ping, conclude, live] {
    if (!live() || run->acked || run->finished) return;
    Entry* target = entry(run->target);
    if (!target) return;
    Address target_addr = target->addr();
    IndirectPing ind{run->seq, target_addr.ip,       target_addr.port,       target->name.str(),
                     false,    config_.advertise.ip, config_.advertise.port, config_.name};
    auto peers = random_nodes(size_t(config_.indirect_checks), [&](const Entry& n) {
      return n.name == self_name_ || n.name == run->target || n.state != NodeState::Alive;
    });
    for (Entry* peer : peers) {
      ind.nack = peer->pmax() >= 4;
      if (ind.nack) ++run->expected_nacks;
      send_msg(peer->addr(), encode(ind));
    }
    if (!config_.disable_tcp_pings && target->pmax() >= 3) {
      run->fallback = ProbeRun::Fallback::Pending;
      Duration remaining = run->sent + run->interval - sched_.now();
      if (remaining < Duration::zero()) remaining = Duration::zero();
      uint32_t seq = run->seq;
      transport_.stream_request(
          target_addr, seal_stream(encode(ping)), true, remaining,
          [this, run, seq, conclude, live](std::optional<Bytes> reply, const std::string& error) {
            if (!live()) return;
            bool contacted = false;
            if (reply) {
              std::string why;
              auto msg = open_stream(*reply, why);
              if (msg && (*msg)[0] == static_cast<uint8_t>(MsgType::Ack)) {
                try {
                  auto ack = decode_ack(parser_.parse(std::span(*msg).subspan(1)));
                  contacted = ack.seq_no == seq;
                } catch (const mp::DecodeError&) {
                }
              }
            }
            run->fallback = contacted ? ProbeRun::Fallback::Contacted : ProbeRun::Fallback::Failed;
            (*conclude)();
          });
    }
  });
}

void Memberlist::Impl::set_ack_handler(uint32_t seq, AckHandler handler, Duration timeout,
                                       std::function<void()> on_timeout) {
  handler.timeout = std::make_unique<Timer>(sched_);
  handler.timeout->arm(timeout, [this, seq, on_timeout = std::move(on_timeout)] {
    ack_handlers_.erase(seq);  // destroys the timer that is calling us: it copied nothing we use
    if (on_timeout) on_timeout();
  });
  ack_handlers_[seq] = std::move(handler);
}

void Memberlist::Impl::handle_ack(const Ack& ack) {
  auto it = ack_handlers_.find(ack.seq_no);
  if (it == ack_handlers_.end()) return;
  auto on_ack = std::move(it->second.on_ack);
  ack_handlers_.erase(it);
  if (on_ack) on_ack(ack.payload);
}

void Memberlist::Impl::handle_nack(const Nack& nack) {
  auto it = ack_handlers_.find(nack.seq_no);
  if (it != ack_handlers_.end() && it->second.on_nack) it->second.on_nack();
}

void Memberlist::Impl::handle_ping(const Ping& p, const Address& from) {
  // A ping for another name means we restarted under a new name at the same address.
  if (!p.node.empty() && p.node != config_.name) {
    log_->warn("Got ping for unexpected node '{}' from {}", p.node, from.to_string());
    return;
  }
  Ack ack{p.seq_no, delegates_.ping ? delegates_.ping->ack_payload() : Bytes{}};
  Address to =
      (!p.source_addr.empty() && p.source_port > 0) ? Address{p.source_addr, p.source_port} : from;
  send_msg(to, encode(ack));
  if (!p.source_node.empty() && !p.source_addr.empty() && p.source_port > 0)
    sync_with_unknown(p.source_node, Address{p.source_addr, p.source_port}, from);
}

void Memberlist::Impl::handle_indirect_ping(const IndirectPing& ind, const Address& from) {
  uint16_t port = ind.port ? ind.port : config_.advertise.port;
  uint32_t local_seq = next_seq();
  Ping ping{local_seq, ind.node, config_.advertise.ip, config_.advertise.port, config_.name};
  Address requester = (!ind.source_addr.empty() && ind.source_port > 0)
                          ? Address{ind.source_addr, ind.source_port}
                          : from;
  auto answered = std::make_shared<bool>(false);
  AckHandler relay;
  relay.on_ack = [this, answered, requester, seq = ind.seq_no](const Bytes&) {
    *answered = true;
    send_msg(requester, encode(Ack{seq, {}}));
  };
  set_ack_handler(local_seq, std::move(relay), config_.probe_timeout,
                  [this, answered, requester, seq = ind.seq_no, want_nack = ind.nack] {
                    if (!*answered && want_nack) send_msg(requester, encode(Nack{seq}));
                  });
  send_msg(Address{ind.target, port}, encode(ping));
}

}  // namespace kc::gossip
