// N Serf agents on the gossip simulator's network and virtual clock. Every member records
// the events it receives and answers the test query "whoami" with its name.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "agent/serf/serf.h"
#include "common/logging.h"

namespace kc::test {

using namespace kc::serf;
using kc::gossip::Address;

class SerfCluster {
 public:
  using Tweak = std::function<void(kc::serf::Config&)>;

  SerfCluster(size_t n, uint64_t seed, Tweak tweak = {}, kc::gossip::Bytes key = {})
      : net_(clock_, seed), seed_(seed), tweak_(std::move(tweak)), key_(std::move(key)) {
    kc::log::set_level("warn");
    for (size_t i = 0; i < n; ++i) add();
  }

  static Address address_of(size_t i) {
    return Address{{10, 1, uint8_t(i >> 8), uint8_t(i)}, 7946};
  }
  static std::string name_of(size_t i) { return "node-" + std::to_string(i); }

  size_t add() {
    size_t i = members_.size();
    members_.emplace_back();
    start(i);
    return i;
  }

  void start(size_t i) {
    auto& m = members_[i];
    kc::serf::Config c;
    c.node_name = name_of(i);
    c.memberlist.advertise = address_of(i);
    c.seed = seed_ * 1000003 + i + 1 + restarts_++ * 7919;
    if (tweak_) tweak_(c);
    m.events.clear();
    m.keyring.reset();
    if (!key_.empty()) {
      m.keyring = std::make_shared<kc::gossip::Keyring>();
      m.keyring->add_key(key_);
    }
    m.transport = net_.bind(c.memberlist.advertise);
    m.serf = std::make_unique<Serf>(c, clock_, *m.transport, m.keyring);
    auto* rec = &m.events;
    auto* serf = m.serf.get();
    m.serf->subscribe([rec, serf](const Event& e) {
      rec->push_back(e);
      if (auto* q = std::get_if<std::shared_ptr<Query>>(&e); q && (*q)->name == "whoami") {
        auto name = serf->name();
        (*q)->respond(Bytes(name.begin(), name.end()));
      }
    });
    m.serf->start();
  }

  // Stops a member without a leave, as kill -9 would.
  void crash(size_t i) {
    members_[i].serf.reset();
    members_[i].transport.reset();
  }

  Serf& at(size_t i) { return *members_[i].serf; }
  bool running(size_t i) const { return members_[i].serf != nullptr; }
  size_t size() const { return members_.size(); }
  std::vector<Event>& events(size_t i) { return members_[i].events; }
  std::shared_ptr<kc::gossip::Keyring> keyring(size_t i) { return members_[i].keyring; }

  void join_all_to(size_t seed) {
    for (size_t i = 0; i < size(); ++i)
      if (i != seed && running(i)) at(i).join({address_of(seed).to_string()}, false, nullptr);
  }

  std::optional<MemberStatus> status_in(size_t viewer, const std::string& name) {
    auto m = at(viewer).member(name);
    if (!m) return std::nullopt;
    return m->status;
  }

  // Every running member sees every running member alive.
  bool all_see_all_alive() {
    for (size_t v = 0; v < size(); ++v) {
      if (!running(v)) continue;
      for (size_t o = 0; o < size(); ++o)
        if (running(o) && status_in(v, name_of(o)) != MemberStatus::Alive) return false;
    }
    return true;
  }

  // Every running member other than `subject` sees it with `status` (nullopt = not listed).
  bool all_see(const std::string& subject, std::optional<MemberStatus> status) {
    for (size_t v = 0; v < size(); ++v)
      if (running(v) && name_of(v) != subject && status_in(v, subject) != status) return false;
    return true;
  }

  size_t running_count() const {
    size_t n = 0;
    for (size_t i = 0; i < size(); ++i) n += running(i);
    return n;
  }

  kc::gossip::sim::SimClock& clock() { return clock_; }
  kc::gossip::sim::SimNetwork& net() { return net_; }

 private:
  struct Member {
    std::unique_ptr<kc::gossip::Transport> transport;
    std::shared_ptr<kc::gossip::Keyring> keyring;
    std::unique_ptr<Serf> serf;
    std::vector<Event> events;
  };
  kc::gossip::sim::SimClock clock_;
  kc::gossip::sim::SimNetwork net_;
  uint64_t seed_;
  Tweak tweak_;
  kc::gossip::Bytes key_;
  uint64_t restarts_ = 0;
  std::deque<Member> members_;  // stable addresses: subscribers point into it
};

}  // namespace kc::test
