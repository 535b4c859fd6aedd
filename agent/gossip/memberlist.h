// A memberlist 0.2.2 member: SWIM failure detection with Lifeguard, gossip dissemination,
// push/pull anti-entropy, refutation, wire-compatible with Go's memberlist (docs/wire.md).
// Single-threaded: every method must be called on the scheduler's event loop.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/gossip/config.h"
#include "agent/gossip/delegate.h"
#include "agent/gossip/drops.h"
#include "agent/gossip/runtime.h"
#include "agent/gossip/types.h"

namespace kc::gossip {

class Keyring;

struct Delegates {
  Delegate* delegate = nullptr;
  EventDelegate* events = nullptr;
  PingDelegate* ping = nullptr;
  ConflictDelegate* conflict = nullptr;
};

// Messages and their bytes of one memberlist type in one direction.
struct MessageTally {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};
// One slot per memberlist message type (MsgType 0..13).
inline constexpr size_t kGossipMessageTypes = 14;

// Counters for metrics and tests (drops are counted, never crash).
struct GossipStats {
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t packets_dropped = 0;  // undecodable, bad CRC, undecryptable, unknown type
  uint64_t streams_received = 0;
  uint64_t streams_dropped = 0;
  uint64_t push_pulls = 0;
  uint64_t probes = 0;
  uint64_t probe_failures = 0;
  uint64_t refutations = 0;
  uint64_t suspicions = 0;  // members this node began to suspect (own probe or gossip)
  // By MsgType, UDP and TCP together, counted per message after compound and compression
  // are unwrapped (a compound packet counts each part; the wrappers are not counted).
  std::array<MessageTally, kGossipMessageTypes> received{}, sent{};
  // Hostile or broken input thrown away, by reason (also counted in packets_/streams_dropped
  // where it was a whole packet or stream).
  DropCounts drops{};
  uint64_t& dropped(DropReason r) { return drops[static_cast<size_t>(r)]; }
  uint64_t dropped(DropReason r) const { return drops[static_cast<size_t>(r)]; }
};

class Memberlist {
 public:
  Memberlist(Config config, Scheduler& scheduler, Transport& transport, Delegates delegates,
             std::shared_ptr<Keyring> keyring = nullptr);
  ~Memberlist();
  Memberlist(const Memberlist&) = delete;
  Memberlist& operator=(const Memberlist&) = delete;

  // Announces ourselves (alive, incarnation 1) and starts the probe, gossip and push/pull timers.
  void start();

  // Push/pull with each address ("host:port" or "name/host:port"); done(number joined, errors).
  void join(const std::vector<std::string>& addresses,
            std::function<void(int joined, std::string error)> done);

  // Broadcasts our leave (dead about ourselves from ourselves) and waits until it has been
  // sent to others (or timeout). Probing stops.
  void leave(Duration timeout, std::function<void(bool timed_out)> done);

  // Stops all timers and closes the transport (no leave message).
  void shutdown();

  // Re-broadcasts our alive with fresh metadata (after a tag change).
  void update_node();

  // Declares another member dead at its current incarnation and gossips it, as our own
  // failure detector would: every peer applies it at once, and a member that is in fact alive
  // refutes it. For members an outside authority has confirmed gone. False when the member is
  // unknown, ourselves, or already dead or left.
  bool declare_dead(const std::string& name);

  // A user message over UDP (memberlist prepends the 08 type byte), as Go's SendTo.
  void send_user_packet(const Address& to, std::span<const uint8_t> msg);

  // The table is packed (member_entry.h): these build Node values, copies of the entries.
  Node local_node() const;
  std::vector<Node> members() const;  // every node in the table, any state
  std::optional<Node> find(std::string_view name) const;
  std::optional<NodeState> state_of(std::string_view name) const;  // find() without the copy
  size_t num_nodes() const;             // the table size (the "n" of memberlist's formulas)
  size_t num_alive() const;             // alive (and suspect) other than dead/left, incl. self
  size_t count(NodeState state) const;  // nodes in `state`: kept per state, O(1)
  int health_score() const;
  std::shared_ptr<Keyring> keyring() const;
  const GossipStats& stats() const;
  const Config& config() const;
  bool leaving() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kc::gossip
