// Event coalescing (coalesce*.go): events a coalescer handles are held until no new one has
// arrived for the quiescent period, or the coalesce period since the first has passed, then
// flushed in summary form. Member events keep only the latest per member and skip repeats of
// what was last sent; user events marked CC keep only the newest LTime per event name.
#pragma once

#include <functional>
#include <map>

#include "agent/gossip/runtime.h"
#include "agent/serf/event.h"

namespace kc::serf {

class Coalescer {
 public:
  using Emit = std::function<void(Event)>;
  Coalescer(gossip::Scheduler& sched, gossip::Duration coalesce_period,
            gossip::Duration quiescent_period, Emit emit);
  virtual ~Coalescer() = default;

  // True if the event was taken (it will come out of a later flush).
  bool offer(const Event& e);
  // Emits what is held now (on shutdown, and when a timer fires).
  void flush();

 protected:
  virtual bool handles(const Event& e) const = 0;
  virtual void coalesce(const Event& e) = 0;
  virtual void flush_into(const Emit& emit) = 0;

 private:
  gossip::Duration coalesce_period_;
  gossip::Duration quiescent_period_;
  Emit emit_;
  gossip::Timer quantum_;
  gossip::Timer quiescent_;
};

class MemberEventCoalescer : public Coalescer {
 public:
  using Coalescer::Coalescer;

 protected:
  bool handles(const Event& e) const override;
  void coalesce(const Event& e) override;
  void flush_into(const Emit& emit) override;

 private:
  std::map<std::string, EventType> last_events_;
  std::map<std::string, std::pair<EventType, Member>> latest_events_;
};

class UserEventCoalescer : public Coalescer {
 public:
  using Coalescer::Coalescer;

 protected:
  bool handles(const Event& e) const override;
  void coalesce(const Event& e) override;
  void flush_into(const Emit& emit) override;

 private:
  struct Latest {
    LamportTime ltime = 0;
    std::vector<UserEvent> events;
  };
  std::map<std::string, Latest> events_;
};

}  // namespace kc::serf
