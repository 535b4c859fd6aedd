// Internal state of Memberlist, split over files by job:
//   memberlist.cpp  lifecycle, public API, timers
//   state.cpp       alive / suspect / dead handling, refutation
//   probe.cpp       the probe cycle (direct, indirect, TCP fallback) and ack handlers
//   net.cpp         receiving packets and streams, sending with piggybacked broadcasts
//   push_pull.cpp   state exchange, join, periodic anti-entropy
#pragma once

#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include "agent/gossip/broadcast_queue.h"
#include "agent/gossip/compound.h"
#include "agent/gossip/envelope.h"
#include "agent/gossip/member_entry.h"
#include "agent/gossip/memberlist.h"
#include "agent/gossip/messages.h"
#include "agent/gossip/name_index.h"
#include "agent/gossip/suspicion.h"
#include "agent/gossip/token_bucket.h"
#include "common/lifetime.h"
#include "common/log_limit.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

namespace kc::gossip {

class Memberlist::Impl {
 public:
  Impl(Memberlist& outer, Config config, Scheduler& scheduler, Transport& transport,
       Delegates delegates, std::shared_ptr<Keyring> keyring);

  // --- lifecycle (memberlist.cpp)
  void start();
  void shutdown();
  void schedule_probe(Duration delay);
  void schedule_gossip(Duration delay);
  void schedule_push_pull(Duration delay);
  Duration random_duration(Duration upper);
  Node make_local_node() const;

  // --- state (state.cpp)
  using Entry = MemberEntry;
  void alive_node(const AliveView& a, bool bootstrap, BroadcastQueue::Finished notify = {});
  // Suspicion timed out: one push/pull with the suspect, then dead unless it refuted.
  void last_chance(const std::string& name, TimePoint change, int confirmations);
  void suspect_node(const Suspect& s);
  void dead_node(const Dead& d);
  void refute(Entry& me, uint32_t accused_incarnation);
  void broadcast(std::string_view name, Bytes msg, BroadcastQueue::Finished notify = {});
  Entry* entry(std::string_view name) const { return node_map_.find(name); }
  Entry& local() const;
  // Every change of an entry's state goes through here: the per-state counts stay exact.
  void set_state(Entry& e, NodeState state);
  // Lifeguard's timer for a suspect entry; only suspects have one.
  Suspicion* suspicion_of(const Entry& e);
  void end_suspicion(const Entry& e) { suspicions_.erase(&e); }
  bool any_alive_other() const;
  void reap_dead_nodes();
  std::vector<Entry*> random_nodes(size_t k, const std::function<bool(const Entry&)>& exclude);

  // --- probing (probe.cpp)
  struct AckHandler {
    std::function<void(const Bytes& payload)> on_ack;
    std::function<void()> on_nack;
    std::unique_ptr<Timer> timeout;
  };
  void probe();
  void probe_node(const std::string& name);
  uint32_t next_seq() { return seq_++; }
  void set_ack_handler(uint32_t seq, AckHandler handler, Duration timeout,
                       std::function<void()> on_timeout);
  void handle_ack(const Ack& ack);
  void handle_nack(const Nack& nack);
  void handle_ping(const Ping& p, const Address& from);
  void handle_indirect_ping(const IndirectPing& ind, const Address& from);

  // --- network (net.cpp)
  // The boundary between the network and the handlers: nothing `fn` throws may reach the
  // event loop (it would stop the agent). A decode error there is an ordinary drop; anything
  // else is a bug in a handler, counted as handler_error and logged (rate-limited).
  // Returns whether `fn` completed.
  template <typename Fn>
  bool guarded(const char* what, const Address& from, Fn&& fn) noexcept;
  void log_limited(kc::log::RateLimit& limiter, const std::string& line);
  void on_packet(const Address& from, std::span<const uint8_t> data);
  void handle_message(std::span<const uint8_t> msg, const Address& from, int depth);
  void on_stream(const Address& from, Bytes request, Transport::Respond respond);
  // One opened stream message (type byte first); throws mp::DecodeError on bad input.
  void handle_stream(const Bytes& msg, const Address& from,
                     const std::function<void(Bytes)>& answer);
  void send_msg(const Address& to, Bytes msg);  // with piggybacked broadcasts, no CRC
  // `node` is the receiver's entry when known (its protocol version decides the CRC).
  void send_raw(const Address& to, const Entry* node, Bytes msg);  // one message, never a compound
  // Several messages in one packet (a compound when more than one, at most 255).
  void send_parts(const Address& to, const Entry* node, std::vector<Bytes> parts);
  void send_packet(const Address& to, const Entry* node, Bytes msg);  // counted by the callers
  std::vector<Bytes> get_broadcasts(size_t overhead, size_t limit);
  void gossip();
  // Counting one message by type for metrics; a compound's parts are counted where it is
  // built (send_parts) or opened (handle_message), never the wrapper.
  static void count(std::array<MessageTally, kGossipMessageTypes>& by_type,
                    std::span<const uint8_t> msg);
  Bytes seal_stream(const Bytes& msg);
  std::optional<Bytes> open_stream(std::span<const uint8_t> data, std::string& why);

  // --- push/pull (push_pull.cpp)
  Bytes encode_local_state(bool join);
  // Views into the message it was decoded from, which must outlive it.
  struct RemoteState {
    bool join = false;
    std::vector<PushNodeStateView> nodes;
    ByteSpill spill;
    std::span<const uint8_t> user_state;
  };
  RemoteState decode_remote_state(std::span<const uint8_t> msg);  // msg starts with 06
  bool merge_remote_state(const RemoteState& remote, std::string& error);
  std::string verify_protocol(const std::vector<PushNodeStateView>& remote) const;
  // `timeout` 0 means config_.tcp_timeout.
  void push_pull_node(const Address& to, bool join, std::function<void(std::string error)> done,
                      Duration timeout = Duration::zero());
  void push_pull();
  // Catching up on joins that gossip missed (see push_pull.cpp).
  void sync_soon_after_join();
  void sync_with_unknown(const std::string& name, const Address& claimed, const Address& from);
  void join(const std::vector<std::string>& addresses,
            std::function<void(int joined, std::string error)> done);

  Memberlist& outer_;
  Config config_;
  Interned self_name_;  // config_.name: entries compare against it without reading the text
  Scheduler& sched_;
  Transport& transport_;
  Delegates delegates_;
  std::shared_ptr<Keyring> keyring_;
  Envelope envelope_;
  // Every received message is decoded with it, one at a time (one event loop).
  mp::Parser parser_;
  std::shared_ptr<spdlog::logger> log_;
  std::mt19937_64 rng_;

  std::vector<std::unique_ptr<Entry>> nodes_;  // shuffled probe order
  NameIndex<Entry> node_map_;
  std::array<size_t, 4> state_counts_{};  // entries by NodeState (count() is O(1))
  std::unordered_map<const Entry*, std::unique_ptr<Suspicion>> suspicions_;
  size_t probe_index_ = 0;
  uint32_t seq_ = 1;
  uint32_t incarnation_ = 0;
  Awareness awareness_;
  BroadcastQueue broadcasts_;
  std::unordered_map<uint32_t, AckHandler> ack_handlers_;
  bool leaving_ = false;
  bool shutdown_ = false;
  bool probing_ = false;  // a probe is in flight: ticks that come meanwhile are skipped
  BroadcastQueue::Finished leave_done_;
  GossipStats stats_;
  // At most 5 lines a minute each: a flood of hostile packets must not flood the log too.
  kc::log::RateLimit handler_error_log_{std::chrono::minutes(1), 5},
      drop_log_{std::chrono::minutes(1), 5};
  std::unordered_map<std::string, TimePoint> unknown_synced_;  // name -> last catch-up
  TokenBucket catch_up_budget_;
  Timer probe_timer_, gossip_timer_, push_pull_timer_;
  // For callbacks that may outlive us (transport completions); ended by shutdown().
  LifetimeToken lifetime_;
};

template <typename Fn>
bool Memberlist::Impl::guarded(const char* what, const Address& from, Fn&& fn) noexcept {
  std::string error;
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  ++stats_.dropped(DropReason::HandlerError);
  log_limited(handler_error_log_,
              std::string("Dropped ") + what + " from " + from.to_string() + ": " + error);
  return false;
}

}  // namespace kc::gossip
