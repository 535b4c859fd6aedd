// The part of gossip::Memberlist that Serf uses. Production wraps a real Memberlist
// (memberlist_port.cpp); unit tests substitute a scripted one so the status machine, queries
// and intents can be driven through Serf's delegate methods without a network.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/gossip/config.h"
#include "agent/gossip/memberlist.h"
#include "agent/gossip/types.h"

namespace kc::gossip {
class Keyring;
}

namespace kc::serf {

class MemberlistPort {
 public:
  virtual ~MemberlistPort() = default;
  virtual void start() = 0;
  virtual void join(const std::vector<std::string>& addresses,
                    std::function<void(int joined, std::string error)> done) = 0;
  virtual void leave(gossip::Duration timeout, std::function<void(bool timed_out)> done) = 0;
  virtual void shutdown() = 0;
  virtual void update_node() = 0;
  // Declares another member dead at its current incarnation (see gossip::Memberlist); false
  // when there is nothing to declare. Scripted ports have no failure detector: false.
  virtual bool declare_dead(const std::string& /*name*/) { return false; }
  // UDP user message (memberlist puts the 08 type byte in front).
  virtual void send_user_packet(const gossip::Address& to, std::span<const uint8_t> msg) = 0;
  virtual gossip::Node local_node() const = 0;
  virtual size_t num_alive() const = 0;  // Go's NumMembers: not dead, not left
  virtual int health_score() const = 0;
  virtual std::shared_ptr<gossip::Keyring> keyring() const = 0;
  // The real memberlist when there is one (metrics, the agent's `members -detailed`).
  virtual gossip::Memberlist* memberlist() { return nullptr; }
};

// Builds the port once Serf knows its delegates and the final memberlist config.
using MemberlistFactory =
    std::function<std::unique_ptr<MemberlistPort>(const gossip::Config&, gossip::Delegates)>;

// A factory for the real memberlist on `transport`.
MemberlistFactory real_memberlist(gossip::Scheduler& scheduler, gossip::Transport& transport,
                                  std::shared_ptr<gossip::Keyring> keyring);

}  // namespace kc::serf
