// A deterministic world for the gossip core: a virtual clock and an in-memory network with
// seeded loss, delay and partitions. Everything runs on the caller's thread; the same seed
// replays the same run, so a failing seed can be studied.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "agent/gossip/runtime.h"

namespace kc::gossip::sim {

class SimClock : public Scheduler {
 public:
  TimePoint now() const override { return now_; }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override { callbacks_.erase(id); }

  // Runs the next due event; false when nothing is scheduled.
  bool step();
  // Runs every event up to now + d (the clock ends exactly there).
  void run_for(Duration d);
  // Runs until `condition` holds or `limit` virtual time passes; returns whether it held.
  bool run_until(const std::function<bool()>& condition, Duration limit,
                 Duration check_every = std::chrono::milliseconds(100));
  uint64_t events_run() const { return events_run_; }

 private:
  struct Event {
    TimePoint at;
    TimerId id;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : id > o.id; }
  };
  TimePoint now_{std::chrono::hours(1)};  // not zero, so "time since epoch" math is sane
  TimerId next_ = 1;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::unordered_map<TimerId, std::function<void()>> callbacks_;
  uint64_t events_run_ = 0;
};

struct LinkStats {
  uint64_t packets_sent = 0;
  uint64_t packets_lost = 0;
  uint64_t streams = 0;
  // Packets and streams addressed to something that is not a 4- or 16-byte IP. The real
  // transport refuses these too; a handler that produces one let bad input through (the
  // fuzz targets treat any as a finding).
  uint64_t invalid_destinations = 0;
};

class SimNetwork {
 public:
  SimNetwork(SimClock& clock, uint64_t seed) : clock_(clock), rng_(seed) {}

  // A transport bound at `addr` (IPv4 bytes + port); must be unique while it lives.
  std::unique_ptr<Transport> bind(const Address& addr);

  void set_loss(double probability) { loss_ = probability; }
  void set_delay(Duration min, Duration max) {
    delay_min_ = min;
    delay_max_ = max;
  }
  // Nodes in different groups cannot reach each other; nodes in no group reach everyone.
  void partition(const std::vector<std::set<Address>>& groups);
  void heal() { group_of_.clear(); }
  // UDP packets from `from` to `to` vanish (one direction; streams still work), as a
  // firewall dropping one flow would.
  void drop_packets(const Address& from, const Address& to) { dropped_.insert({from, to}); }
  const LinkStats& stats() const { return stats_; }

 private:
  class SimTransport;
  friend class SimTransport;
  bool reachable(const Address& a, const Address& b) const;
  Duration delay();
  bool lose();

  SimClock& clock_;
  std::mt19937_64 rng_;
  double loss_ = 0;
  Duration delay_min_ = std::chrono::microseconds(200), delay_max_ = std::chrono::milliseconds(2);
  std::map<Address, SimTransport*> endpoints_;
  std::map<Address, int> group_of_;
  std::set<std::pair<Address, Address>> dropped_;
  LinkStats stats_;
};

}  // namespace kc::gossip::sim
