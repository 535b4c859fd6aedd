// Serf 0.9.4 on top of the gossip core (serf.go, delegate.go, event_delegate.go,
// ping_delegate.go; docs/wire.md, "Serf messages"): member status with Lamport-ordered join/leave
// intents, user events, queries, push/pull user state, coordinates, graceful leave, force-leave,
// reaping and reconnects. Serf owns its memberlist and plugs in only through the delegate
// interfaces. Single-threaded: every method runs on the Scheduler's event loop, and every
// timer is a Scheduler timer, so the simulator's virtual clock drives it too.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/gossip/broadcast_queue.h"
#include "agent/gossip/delegate.h"
#include "agent/gossip/runtime.h"
#include "agent/serf/coalesce.h"
#include "agent/serf/config.h"
#include "agent/serf/coordinate/coordinate.h"
#include "agent/serf/event.h"
#include "agent/serf/event_buffer.h"
#include "agent/serf/key_manager.h"
#include "agent/serf/lamport.h"
#include "agent/serf/member.h"
#include "agent/serf/memberlist_port.h"
#include "agent/serf/messages.h"
#include "agent/serf/query.h"
#include "common/lifetime.h"

namespace spdlog {
class logger;
}

namespace kc::serf {

class InternalQueries;

// Serf-level counters for metrics: messages received by Serf type (MessageType 0..9, carried
// inside memberlist user messages), undecodable ones, and what this node originated.
struct SerfCounters {
  static constexpr size_t kTypes = 10;
  std::array<uint64_t, kTypes> received{};
  uint64_t malformed = 0;        // undecodable or of an unknown type
  uint64_t events_sent = 0;      // user events this node originated
  uint64_t queries_sent = 0;     // queries this node originated (internal ones included)
  uint64_t query_responses = 0;  // responses and acks received for our queries
  uint64_t intents_dropped = 0;  // intents for unknown nodes refused: max_recent_intents held
};

class Serf : public gossip::Delegate,
             public gossip::EventDelegate,
             public gossip::PingDelegate,
             public gossip::ConflictDelegate {
 public:
  enum class State { Alive, Leaving, Left, Shutdown };

  // "" on success, else the error text Serf gives.
  using Done = std::function<void(const std::string& error)>;
  using JoinDone = std::function<void(int joined, const std::string& error)>;

  // Serf on a real memberlist over `transport` (defined in serf_real.cpp).
  Serf(Config config, gossip::Scheduler& scheduler, gossip::Transport& transport,
       std::shared_ptr<gossip::Keyring> keyring = nullptr);
  // Serf on whatever `factory` builds (tests). Throws std::invalid_argument with Serf's
  // message for a bad config (protocol range, size limits, tags too long).
  Serf(Config config, gossip::Scheduler& scheduler, const MemberlistFactory& factory);
  ~Serf() override;
  Serf(const Serf&) = delete;
  Serf& operator=(const Serf&) = delete;

  // Starts memberlist (we become alive) and the reap, reconnect and queue-check timers.
  void start();

  // Push/pull with each address; on success a join intent is broadcast. ignore_old drops the
  // user events the cluster already had (RPC join with Replay=false).
  void join(const std::vector<std::string>& addresses, bool ignore_old, JoinDone done);
  // Graceful leave: leave intent, wait until it has been gossiped (≤ broadcast_timeout),
  // memberlist leave, then stay up for leave_propagate_delay so others see us `left`.
  void leave(Done done);
  // force-leave [-prune]: a failed member becomes left; prune erases it everywhere.
  void force_leave(const std::string& node, bool prune, Done done);
  // force-leave -prune of a member whose end an outside authority has confirmed (Kubernetes
  // says its pod is gone): it is first declared dead at the memberlist layer, so it is erased
  // at once here rather than after the leaving member's grace (broadcast timeout plus leave
  // propagation delay), and every peer that applies the dead message erases it at once too.
  // Nothing new on the wire; a member that is in fact alive refutes and comes back. `done`
  // runs once the member is erased here, without waiting for the intent's broadcast.
  void force_leave_gone(const std::string& node, Done done);
  // Stops everything without a leave message (others will see us failed).
  void shutdown();

  // Broadcasts a user event. Returns "" or the size-limit error text.
  std::string user_event(const std::string& name, const Bytes& payload, bool coalesce);
  // Starts a query; nullptr with `error` set when refused.
  std::shared_ptr<QueryResponse> query(const std::string& name, const Bytes& payload,
                                       const QueryParam& params, std::string* error = nullptr);
  gossip::Duration default_query_timeout() const;
  QueryParam default_query_params() const;

  // Replaces our tags and gossips them (fresh alive). "" or the size error.
  std::string set_tags(const Tags& tags);
  const Tags& tags() const { return config_.tags; }

  std::vector<Member> members() const;
  std::optional<Member> member(const std::string& name) const;
  Member local_member() const;
  size_t num_nodes() const { return members_.size(); }
  State state() const { return state_; }
  const std::string& name() const { return config_.node_name; }
  uint8_t protocol_version() const { return config_.protocol_version; }
  bool encryption_enabled() const;
  // serf's `stats` map: members, failed, left, health_score, member_time, event_time,
  // query_time, intent_queue, event_queue, query_queue, encrypted, coordinate_resets.
  std::map<std::string, std::string> stats() const;
  const SerfCounters& counters() const { return counters_; }

  // Our network coordinate; nullopt when coordinates are disabled.
  std::optional<coordinate::Coordinate> get_coordinate() const;
  std::optional<coordinate::Coordinate> get_cached_coordinate(const std::string& node) const;

  KeyManager& key_manager() { return key_manager_; }

  // Event subscription; returns an id for unsubscribe. Internal `_serf_` queries are
  // answered by Serf and never delivered.
  int subscribe(EventHandler handler);
  void unsubscribe(int id);
  // Called once when Serf shuts itself down (lost a name conflict) or is shut down.
  void on_shutdown(std::function<void()> fn) { shutdown_callbacks_.push_back(std::move(fn)); }

  LamportTime member_clock() const { return clock_.time(); }
  LamportTime event_clock() const { return event_clock_.time(); }
  LamportTime query_clock() const { return query_clock_.time(); }
  size_t intent_queue_depth() const { return broadcasts_.size(); }
  size_t event_queue_depth() const { return event_broadcasts_.size(); }
  size_t query_queue_depth() const { return query_broadcasts_.size(); }
  size_t recent_intent_count() const { return recent_intents_.size(); }
  MemberlistPort& memberlist() { return *memberlist_; }
  gossip::Scheduler& scheduler() { return sched_; }

  // --- gossip::Delegate ---
  Bytes node_meta(size_t limit) override;
  void notify_msg(std::span<const uint8_t> buf) override;
  std::vector<Bytes> get_broadcasts(size_t overhead, size_t limit) override;
  Bytes local_state(bool join) override;
  void merge_remote_state(std::span<const uint8_t> buf, bool join) override;
  // --- gossip::EventDelegate ---
  void notify_join(const gossip::Node& node) override;
  void notify_leave(const gossip::Node& node) override;
  void notify_update(const gossip::Node& node) override;
  // --- gossip::PingDelegate ---
  Bytes ack_payload() override;
  void notify_ping_complete(const gossip::Node& other, gossip::Duration rtt,
                            std::span<const uint8_t> payload) override;
  // --- gossip::ConflictDelegate ---
  void notify_conflict(const gossip::Node& existing, const gossip::Node& other) override;

 private:
  friend class InternalQueries;
  friend class KeyManager;
  class Responder;

  // Intents and status (serf.go handleNode*).
  bool handle_node_leave_intent(const MessageLeave& msg);
  bool handle_node_join_intent(const MessageJoin& msg);
  void handle_prune(const std::string& name);
  void erase_pruned(const std::string& name);
  void broadcast_join(LamportTime ltime);
  bool upsert_intent(const std::string& node, MessageType type, LamportTime ltime);
  std::optional<LamportTime> recent_intent(const std::string& node, MessageType type) const;
  bool has_alive_members() const;
  void erase_node(const std::string& name);
  void log_status(const MemberState& ms, MemberStatus old, const char* what);

  // Events and queries.
  bool handle_user_event(const MessageUserEvent& msg);
  bool handle_query(const MessageQuery& q);
  void handle_query_response(const MessageQueryResponse& resp);
  std::string relay_response(uint8_t relay_factor, const gossip::Address& addr,
                             const std::string& node, const MessageQueryResponse& resp);
  void send_to(const gossip::Address& to, const Bytes& msg);
  void resolve_node_conflict();

  // Delivery: events go through internal-query interception and the coalescers, then to
  // subscribers, always from a posted task so a subscriber never runs inside memberlist.
  void emit(Event e);
  void drain_events();
  void deliver(const Event& e);

  // Periodic work.
  void reap();
  void reap_list(std::vector<std::string>& list, gossip::Duration timeout);
  void reconnect();
  void check_queue_depth(const char* name, gossip::BroadcastQueue& queue);
  size_t queue_max() const;
  void arm_periodic();
  void arm_periodic_reap();
  void arm_periodic_reconnect();
  void arm_periodic_queue_check();
  // A one-shot timer cancelled when Serf is destroyed.
  void after(gossip::Duration delay, std::function<void()> fn);

  // Waits for a broadcast to finish, or fails with `timeout_error` after broadcast_timeout.
  void queue_and_wait(gossip::BroadcastQueue& queue, Bytes msg, std::string timeout_error,
                      Done done);

  static void remove_from(std::vector<std::string>& list, const std::string& name);
  MemberState* find(const std::string& name);
  const MemberState* find(const std::string& name) const;

  Config config_;
  gossip::Scheduler& sched_;
  std::shared_ptr<spdlog::logger> log_;
  std::mt19937_64 rng_;
  LifetimeToken lifetime_;  // for callbacks that outlive us; ended first in ~Serf

  LamportClock clock_;
  LamportClock event_clock_;
  LamportClock query_clock_;

  State state_ = State::Alive;
  std::map<std::string, MemberState> members_;
  std::vector<std::string> failed_members_;
  std::vector<std::string> left_members_;
  // Leaving members whose prune waits for their own leave to finish; erased as soon as
  // memberlist reports them gone (left or dead) instead of when the wait ends.
  std::set<std::string> prune_pending_;
  struct NodeIntent {
    MessageType type;
    gossip::TimePoint wall_time;
    LamportTime ltime;
  };
  std::map<std::string, NodeIntent> recent_intents_;

  gossip::BroadcastQueue broadcasts_;
  gossip::BroadcastQueue event_broadcasts_;
  gossip::BroadcastQueue query_broadcasts_;

  EventBuffer event_buffer_;
  int event_join_ignore_ = 0;  // joins in progress that ignore old events
  LamportTime event_min_time_ = 0;

  QueryBuffer query_buffer_;
  LamportTime query_min_time_ = 0;
  struct RunningQuery {
    std::shared_ptr<QueryResponse> response;
    gossip::Scheduler::TimerId timer = 0;
  };
  std::map<LamportTime, RunningQuery> query_responses_;

  std::unique_ptr<coordinate::Client> coord_client_;
  std::map<std::string, coordinate::Coordinate> coord_cache_;

  std::shared_ptr<Responder> responder_;
  KeyManager key_manager_;
  std::unique_ptr<InternalQueries> internal_queries_;
  std::unique_ptr<UserEventCoalescer> user_coalescer_;
  std::unique_ptr<MemberEventCoalescer> member_coalescer_;

  std::map<int, EventHandler> subscribers_;
  int next_subscriber_ = 1;
  std::deque<Event> pending_events_;
  bool drain_posted_ = false;
  std::vector<std::function<void()>> shutdown_callbacks_;

  std::set<gossip::Scheduler::TimerId> timers_;  // one-shot timers to cancel on shutdown
  gossip::Timer reap_timer_;
  gossip::Timer reconnect_timer_;
  gossip::Timer queue_timer_;
  SerfCounters counters_;

  // Last: memberlist calls back into everything above while it runs.
  std::unique_ptr<MemberlistPort> memberlist_;
};

const char* to_string(Serf::State s);

}  // namespace kc::serf
