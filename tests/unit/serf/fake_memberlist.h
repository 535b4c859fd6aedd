// A scripted memberlist for Serf unit tests: records what Serf sends, lets the test decide
// what joins and leaves return, and runs on the simulator's virtual clock.
#pragma once

#include <memory>
#include <vector>

#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "agent/serf/serf.h"

namespace kc::serf::test {

struct Sent {
  gossip::Address to;
  Bytes msg;
};

class FakeMemberlist : public MemberlistPort {
 public:
  FakeMemberlist(gossip::Config config, gossip::Delegates d, gossip::Scheduler& sched)
      : config_(std::move(config)), d_(d), sched_(sched) {
    local_.name = config_.name;
    local_.addr = config_.advertise;
    local_.vsn = config_.vsn;
    local_.state = gossip::NodeState::Alive;
    local_.incarnation = 1;
  }

  void start() override {
    local_.meta = d_.delegate->node_meta(512);
    started = true;
    d_.events->notify_join(local_);
  }
  void join(const std::vector<std::string>& addresses,
            std::function<void(int, std::string)> done) override {
    joins.push_back(addresses);
    int n = join_result;
    sched_.post([done, n] { done(n, n > 0 ? "" : "no nodes"); });
  }
  void leave(gossip::Duration, std::function<void(bool)> done) override {
    left = true;
    sched_.post([done, this] { done(leave_times_out); });
  }
  void shutdown() override { shut = true; }
  void update_node() override {
    auto old = local_;
    local_.meta = d_.delegate->node_meta(512);
    local_.incarnation++;
    if (old.meta != local_.meta) d_.events->notify_update(local_);
  }
  void send_user_packet(const gossip::Address& to, std::span<const uint8_t> msg) override {
    sent.push_back({to, Bytes(msg.begin(), msg.end())});
  }
  gossip::Node local_node() const override { return local_; }
  size_t num_alive() const override { return alive; }
  int health_score() const override { return 0; }
  std::shared_ptr<gossip::Keyring> keyring() const override { return ring; }

  gossip::Config config_;
  gossip::Delegates d_;
  gossip::Scheduler& sched_;
  gossip::Node local_;
  bool started = false, left = false, shut = false, leave_times_out = false;
  int join_result = 1;
  size_t alive = 1;
  std::vector<std::vector<std::string>> joins;
  std::vector<Sent> sent;
  std::shared_ptr<gossip::Keyring> ring;
};

// A node as memberlist would report it to the event delegate.
inline gossip::Node node(const std::string& name, uint8_t last_octet, const Tags& tags = {}) {
  gossip::Node n;
  n.name = name;
  n.addr.ip = {10, 0, 0, last_octet};
  n.addr.port = 7946;
  n.meta = encode_tags(tags);
  n.state = gossip::NodeState::Alive;
  return n;
}

// A Serf on a FakeMemberlist, started, with every event recorded.
struct Harness {
  gossip::sim::SimClock clock;
  FakeMemberlist* ml = nullptr;
  std::unique_ptr<Serf> serf;
  std::vector<Event> events;

  explicit Harness(Config cfg = {}, std::shared_ptr<gossip::Keyring> ring = nullptr) {
    if (cfg.node_name.empty()) cfg.node_name = "self";
    cfg.memberlist.advertise.ip = {10, 0, 0, 1};
    cfg.memberlist.advertise.port = 7946;
    if (!cfg.seed) cfg.seed = 42;
    serf = std::make_unique<Serf>(cfg, clock,
                                  [this, ring](const gossip::Config& c, gossip::Delegates d) {
                                    auto m = std::make_unique<FakeMemberlist>(c, d, clock);
                                    m->ring = ring;
                                    ml = m.get();
                                    return m;
                                  });
    serf->subscribe([this](const Event& e) { events.push_back(e); });
    serf->start();
    settle();
  }
  // Runs what is due now (posted tasks: event delivery, refutations).
  void settle() { clock.run_for(std::chrono::milliseconds(1)); }

  std::vector<MemberEvent> member_events(EventType t) const {
    std::vector<MemberEvent> out;
    for (auto& e : events)
      if (auto* m = std::get_if<MemberEvent>(&e); m && m->type == t) out.push_back(*m);
    return out;
  }
  std::vector<UserEvent> user_events() const {
    std::vector<UserEvent> out;
    for (auto& e : events)
      if (auto* u = std::get_if<UserEvent>(&e)) out.push_back(*u);
    return out;
  }
  std::vector<std::shared_ptr<Query>> queries() const {
    std::vector<std::shared_ptr<Query>> out;
    for (auto& e : events)
      if (auto* q = std::get_if<std::shared_ptr<Query>>(&e)) out.push_back(*q);
    return out;
  }
  MemberStatus status(const std::string& name) const {
    auto m = serf->member(name);
    return m ? m->status : MemberStatus::None;
  }
  // Delivers a serf message as if it arrived in a memberlist user message.
  void receive(const Bytes& msg) {
    serf->notify_msg(msg);
    settle();
  }
};

}  // namespace kc::serf::test
