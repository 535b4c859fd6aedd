#include "agent/gossip/sim/sim_runtime.h"

namespace kc::gossip::sim {

Scheduler::TimerId SimClock::schedule(Duration delay, std::function<void()> fn) {
  TimerId id = next_++;
  if (delay < Duration::zero()) delay = Duration::zero();
  queue_.push(Event{now_ + delay, id});
  callbacks_.emplace(id, std::move(fn));
  return id;
}

bool SimClock::step() {
  while (!queue_.empty()) {
    Event ev = queue_.top();
    queue_.pop();
    auto it = callbacks_.find(ev.id);
    if (it == callbacks_.end()) continue;  // cancelled
    auto fn = std::move(it->second);
    callbacks_.erase(it);
    now_ = ev.at;
    ++events_run_;
    fn();
    return true;
  }
  return false;
}

void SimClock::run_for(Duration d) {
  TimePoint end = now_ + d;
  while (!queue_.empty()) {
    // Skip cancelled heads without advancing time past `end`.
    if (!callbacks_.contains(queue_.top().id)) {
      queue_.pop();
      continue;
    }
    if (queue_.top().at > end) break;
    step();
  }
  now_ = end;
}

bool SimClock::run_until(const std::function<bool()>& condition, Duration limit,
                         Duration check_every) {
  TimePoint end = now_ + limit;
  while (now_ < end) {
    if (condition()) return true;
    run_for(std::min<Duration>(check_every, end - now_));
  }
  return condition();
}

// ---- network

class SimNetwork::SimTransport : public Transport {
 public:
  SimTransport(SimNetwork& net, Address addr) : net_(net), addr_(std::move(addr)) {
    net_.endpoints_[addr_] = this;
  }
  ~SimTransport() override { close(); }

  Address local_address() const override { return addr_; }

  void send_packet(const Address& to, Bytes data) override {
    if (closed_) return;
    if (!to.has_valid_ip()) {
      ++net_.stats_.invalid_destinations;
      return;
    }
    ++net_.stats_.packets_sent;
    // (dropped_ is empty in most runs: no pair of addresses copied just to look it up)
    if (!net_.reachable(addr_, to) ||
        (!net_.dropped_.empty() && net_.dropped_.contains({addr_, to})) || net_.lose()) {
      ++net_.stats_.packets_lost;
      return;
    }
    Address from = addr_;
    SimNetwork* net = &net_;
    net_.clock_.schedule(net_.delay(), [net, from, to, data = std::move(data)] {
      auto it = net->endpoints_.find(to);
      if (it == net->endpoints_.end() || it->second->closed_ || !it->second->on_packet_) return;
      it->second->on_packet_(from, data);
    });
  }

  // A stream is reliable but needs both ends reachable for the whole exchange.
  void stream_request(const Address& to, Bytes request, bool expect_reply, Duration timeout,
                      ReplyHandler done) override {
    ++net_.stats_.streams;
    SimNetwork* net = &net_;
    Address from = addr_;
    auto finished = std::make_shared<bool>(false);
    auto finish = [finished, done](std::optional<Bytes> reply, std::string error) {
      if (*finished) return;
      *finished = true;
      done(std::move(reply), std::move(error));
    };
    if (!to.has_valid_ip()) {
      ++net->stats_.invalid_destinations;
      net->clock_.schedule(Duration::zero(),
                           [finish] { finish(std::nullopt, "not an IP address"); });
      return;
    }
    auto target = net->endpoints_.find(to);
    if (closed_ || target == net->endpoints_.end() || target->second->closed_) {
      net->clock_.schedule(net->delay(), [finish] { finish(std::nullopt, "connection refused"); });
      return;
    }
    if (!net->reachable(from, to)) {
      net->clock_.schedule(timeout, [finish] { finish(std::nullopt, "i/o timeout"); });
      return;
    }
    net->clock_.schedule(timeout, [finish] { finish(std::nullopt, "i/o timeout"); });
    net->clock_.schedule(net->delay(), [net, from, to, request = std::move(request), expect_reply,
                                        finish]() mutable {
      auto it = net->endpoints_.find(to);
      if (it == net->endpoints_.end() || it->second->closed_ || !it->second->on_stream_)
        return finish(std::nullopt, "connection reset");
      if (!expect_reply) finish(std::nullopt, "");
      it->second->on_stream_(
          from, std::move(request), [net, from, to, expect_reply, finish](Bytes reply) {
            if (!expect_reply) return;
            if (reply.empty()) return finish(std::nullopt, "EOF");
            if (!net->reachable(to, from)) return;  // lost: the requester times out
            net->clock_.schedule(net->delay(), [finish, reply = std::move(reply)]() mutable {
              finish(std::move(reply), "");
            });
          });
    });
  }

  void set_handlers(PacketHandler on_packet, StreamHandler on_stream) override {
    on_packet_ = std::move(on_packet);
    on_stream_ = std::move(on_stream);
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    auto it = net_.endpoints_.find(addr_);
    if (it != net_.endpoints_.end() && it->second == this) net_.endpoints_.erase(it);
  }

 private:
  SimNetwork& net_;
  Address addr_;
  PacketHandler on_packet_;
  StreamHandler on_stream_;
  bool closed_ = false;
};

std::unique_ptr<Transport> SimNetwork::bind(const Address& addr) {
  return std::make_unique<SimTransport>(*this, addr);
}

void SimNetwork::partition(const std::vector<std::set<Address>>& groups) {
  group_of_.clear();
  for (size_t g = 0; g < groups.size(); ++g)
    for (auto& a : groups[g]) group_of_[a] = int(g);
}

bool SimNetwork::reachable(const Address& a, const Address& b) const {
  if (group_of_.empty()) return true;
  auto ga = group_of_.find(a);
  auto gb = group_of_.find(b);
  if (ga == group_of_.end() || gb == group_of_.end()) return true;
  return ga->second == gb->second;
}

Duration SimNetwork::delay() {
  if (delay_max_ <= delay_min_) return delay_min_;
  return Duration(
      std::uniform_int_distribution<int64_t>(delay_min_.count(), delay_max_.count())(rng_));
}

bool SimNetwork::lose() {
  return loss_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_;
}

}  // namespace kc::gossip::sim
