#include "agent/gossip/memberlist.h"

#include <cmath>

#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

Memberlist::Impl::Impl(Memberlist& outer, Config config, Scheduler& scheduler, Transport& transport,
                       Delegates delegates, std::shared_ptr<Keyring> keyring)
    : outer_(outer),
      config_(std::move(config)),
      self_name_(config_.name),
      sched_(scheduler),
      transport_(transport),
      delegates_(delegates),
      keyring_(std::move(keyring)),
      envelope_(config_.enable_compression, keyring_),
      log_(kc::log::get("memberlist")),
      rng_(config_.seed ? config_.seed : std::random_device{}()),
      awareness_(config_.awareness_max_multiplier),
      broadcasts_(config_.retransmit_mult, [this] { return nodes_.size(); }),
      catch_up_budget_(config_.catch_up_burst, config_.catch_up_interval),
      probe_timer_(scheduler),
      gossip_timer_(scheduler),
      push_pull_timer_(scheduler) {}

Node Memberlist::Impl::make_local_node() const {
  Node n;
  n.name = config_.name;
  n.addr = config_.advertise;
  n.vsn = config_.vsn;
  n.meta = delegates_.delegate ? delegates_.delegate->node_meta(512) : Bytes{};
  return n;
}

void Memberlist::Impl::start() {
  transport_.set_handlers(
      [this](const Address& from, std::span<const uint8_t> data) { on_packet(from, data); },
      [this](const Address& from, Bytes request, Transport::Respond respond) {
        on_stream(from, std::move(request), std::move(respond));
      });
  // Announce ourselves: the bootstrap alive sets our own entry (incarnation 1).
  Node self = make_local_node();
  Alive a{++incarnation_, self.name, self.addr.ip,
          self.addr.port, self.meta, Bytes(self.vsn.begin(), self.vsn.end())};
  alive_node(view_of(a), /*bootstrap=*/true);
  schedule_probe(random_duration(config_.probe_interval));
  schedule_gossip(random_duration(config_.gossip_interval));
  schedule_push_pull(random_duration(config_.push_pull_interval));
}

Duration Memberlist::Impl::random_duration(Duration upper) {
  if (upper <= Duration::zero()) return Duration::zero();
  return Duration(std::uniform_int_distribution<int64_t>(0, upper.count() - 1)(rng_));
}

void Memberlist::Impl::schedule_probe(Duration delay) {
  probe_timer_.arm(delay, [this] {
    schedule_probe(config_.probe_interval);
    if (!probing_) probe();
  });
}

void Memberlist::Impl::schedule_gossip(Duration delay) {
  gossip_timer_.arm(delay, [this] {
    schedule_gossip(config_.gossip_interval);
    gossip();
  });
}

// memberlist's pushPullScale: the interval grows with log2(n) above 32 nodes so that
// anti-entropy traffic stays bounded in large clusters.
static Duration push_pull_scale(Duration interval, size_t n) {
  if (n <= 32) return interval;
  double multiplier = std::ceil(std::log2(double(n)) - std::log2(32.0)) + 1.0;
  return Duration(static_cast<int64_t>(multiplier * double(interval.count())));
}

void Memberlist::Impl::schedule_push_pull(Duration delay) {
  push_pull_timer_.arm(delay, [this] {
    schedule_push_pull(push_pull_scale(config_.push_pull_interval, nodes_.size()));
    push_pull();
  });
}

void Memberlist::Impl::shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  lifetime_.end();
  probe_timer_.cancel();
  gossip_timer_.cancel();
  push_pull_timer_.cancel();
  ack_handlers_.clear();
  suspicions_.clear();
  transport_.close();
}

// ---- public API

Memberlist::Memberlist(Config config, Scheduler& scheduler, Transport& transport,
                       Delegates delegates, std::shared_ptr<Keyring> keyring)
    : impl_(std::make_unique<Impl>(*this, std::move(config), scheduler, transport, delegates,
                                   std::move(keyring))) {}

Memberlist::~Memberlist() {
  impl_->shutdown();
}

void Memberlist::start() {
  impl_->start();
}

void Memberlist::join(const std::vector<std::string>& addresses,
                      std::function<void(int, std::string)> done) {
  impl_->join(addresses, std::move(done));
}

void Memberlist::leave(Duration timeout, std::function<void(bool)> done) {
  auto& m = *impl_;
  if (m.leaving_) {
    m.sched_.post([done = std::move(done)] { done(false); });
    return;
  }
  m.leaving_ = true;
  auto& self = m.local();
  // Node == From marks a voluntary leave (state left, not dead) on every receiver.
  auto finished = std::make_shared<bool>(false);
  auto timer = std::make_shared<Timer>(m.sched_);
  auto complete = [finished, timer, done](bool timed_out) {
    if (*finished) return;
    *finished = true;
    timer->cancel();
    done(timed_out);
  };
  m.leave_done_ = [complete] { complete(false); };
  m.dead_node(Dead{self.incarnation, self.name.str(), self.name.str()});
  if (!m.any_alive_other()) {
    m.sched_.post([complete] { complete(false); });
    return;
  }
  timer->arm(timeout, [complete] { complete(true); });
}

void Memberlist::shutdown() {
  impl_->shutdown();
}

void Memberlist::update_node() {
  auto& m = *impl_;
  auto& self = m.local();
  Bytes meta = m.delegates_.delegate ? m.delegates_.delegate->node_meta(512) : Bytes{};
  uint32_t inc = ++m.incarnation_;
  Alive a{inc,  self.name.str(), Bytes(self.ip_bytes().begin(), self.ip_bytes().end()), self.port,
          meta, self.vsn_bytes()};
  m.alive_node(view_of(a), /*bootstrap=*/true);
}

bool Memberlist::declare_dead(const std::string& name) {
  auto& m = *impl_;
  auto* e = m.entry(name);
  if (!e || name == m.config_.name || e->state == NodeState::Dead || e->state == NodeState::Left)
    return false;
  m.dead_node(Dead{e->incarnation, name, m.config_.name});
  return true;
}

void Memberlist::send_user_packet(const Address& to, std::span<const uint8_t> msg) {
  Bytes buf{static_cast<uint8_t>(MsgType::User)};
  buf.insert(buf.end(), msg.begin(), msg.end());
  impl_->send_raw(to, nullptr, std::move(buf));
}

Node Memberlist::local_node() const {
  return impl_->local().to_node();
}

std::vector<Node> Memberlist::members() const {
  std::vector<Node> out;
  out.reserve(impl_->nodes_.size());
  for (auto& e : impl_->nodes_) out.push_back(e->to_node());
  return out;
}

std::optional<Node> Memberlist::find(std::string_view name) const {
  auto* e = impl_->entry(name);
  if (!e) return std::nullopt;
  return e->to_node();
}

std::optional<NodeState> Memberlist::state_of(std::string_view name) const {
  auto* e = impl_->entry(name);
  if (!e) return std::nullopt;
  return e->state;
}

size_t Memberlist::num_nodes() const {
  return impl_->nodes_.size();
}

size_t Memberlist::num_alive() const {
  return count(NodeState::Alive) + count(NodeState::Suspect);
}

size_t Memberlist::count(NodeState state) const {
  return impl_->state_counts_[size_t(state)];
}

int Memberlist::health_score() const {
  return impl_->awareness_.score();
}
std::shared_ptr<Keyring> Memberlist::keyring() const {
  return impl_->keyring_;
}
const GossipStats& Memberlist::stats() const {
  // The transport's own drops (connections shed or timed out) join ours here.
  auto t = impl_->transport_.counters();
  impl_->stats_.dropped(DropReason::StreamShed) = t.streams_shed;
  impl_->stats_.dropped(DropReason::StreamIdle) = t.streams_idle;
  return impl_->stats_;
}
const Config& Memberlist::config() const {
  return impl_->config_;
}
bool Memberlist::leaving() const {
  return impl_->leaving_;
}

}  // namespace kc::gossip
