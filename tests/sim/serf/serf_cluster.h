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
#include "agent/serf/serf.h"
#include "sim/sim_world.h"

namespace kc::test {

using namespace kc::serf;
using kc::gossip::Address;

struct SerfMember {
  std::unique_ptr<kc::gossip::Transport> transport;
  std::shared_ptr<kc::gossip::Keyring> keyring;
  std::unique_ptr<Serf> node;
  std::vector<Event> events;
};

class SerfCluster : public SimWorld<SerfCluster, SerfMember> {
 public:
  using Tweak = std::function<void(kc::serf::Config&)>;

  SerfCluster(size_t n, uint64_t seed, Tweak tweak = {}, kc::gossip::Bytes key = {})
      : SimWorld(seed), tweak_(std::move(tweak)), key_(std::move(key)) {
    for (size_t i = 0; i < n; ++i) add();
  }

  static Address address_of(size_t i) {
    return Address{{10, 1, uint8_t(i >> 8), uint8_t(i)}, 7946};
  }
  static std::string name_of(size_t i) { return "node-" + std::to_string(i); }

  void start(size_t i) {
    auto& m = members_[i];
    kc::serf::Config c;
    c.node_name = name_of(i);
    c.memberlist.advertise = address_of(i);
    c.seed = next_member_seed(i);
    if (tweak_) tweak_(c);
    m.events.clear();
    m.keyring.reset();
    if (!key_.empty()) {
      m.keyring = std::make_shared<kc::gossip::Keyring>();
      m.keyring->add_key(key_);
    }
    m.transport = net_.bind(c.memberlist.advertise);
    m.node = std::make_unique<Serf>(c, clock_, *m.transport, m.keyring);
    auto* rec = &m.events;
    auto* serf = m.node.get();
    m.node->subscribe([rec, serf](const Event& e) {
      rec->push_back(e);
      if (auto* q = std::get_if<std::shared_ptr<Query>>(&e); q && (*q)->name == "whoami") {
        auto name = serf->name();
        (*q)->respond(Bytes(name.begin(), name.end()));
      }
    });
    m.node->start();
  }

  Serf& at(size_t i) { return *members_[i].node; }
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

 private:
  Tweak tweak_;
  kc::gossip::Bytes key_;
};

}  // namespace kc::test
