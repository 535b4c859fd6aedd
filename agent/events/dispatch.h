// The wiring of Serf's events to what the agent does with them: serf-style handler scripts
// and delivery to the local Kong Admin API, with a count of every event by type.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/serf/event.h"

namespace kc::serf {
class Serf;
}

namespace kc::events {

class ScriptHandlers;
class KongDelivery;
class OrphanReaper;

// Events Serf delivered to the agent (after coalescing), by serf's type name.
struct EventCounts {
  std::map<std::string, uint64_t> by_type = {
      {"member-join", 0}, {"member-leave", 0}, {"member-failed", 0}, {"member-update", 0},
      {"member-reap", 0}, {"user", 0},         {"query", 0}};
};

struct DispatchOptions {
  std::vector<std::string> event_handlers;  // serf-style [filter=]command items
  std::chrono::milliseconds event_handler_timeout{60000};
  size_t event_handler_concurrency = 4;
  std::vector<std::string> handler_env;  // names (or PREFIX*) handlers also get
  std::string kong_admin_url;            // empty: no delivery to Kong
};

class EventDispatch {
 public:
  EventDispatch(boost::asio::io_context& io, serf::Serf& serf, DispatchOptions options);
  ~EventDispatch();
  EventDispatch(const EventDispatch&) = delete;
  EventDispatch& operator=(const EventDispatch&) = delete;

  // Starts the configured consumers and subscribes to Serf's events. Call before Serf starts
  // so no event is missed. Throws std::runtime_error naming the key on a bad handler list or
  // Kong URL.
  void start();
  // Unsubscribes; handlers are killed, Kong delivery stops. Idempotent.
  void stop();

  // Null when not configured.
  const ScriptHandlers* handlers() const { return handlers_.get(); }
  const KongDelivery* kong() const { return kong_.get(); }
  // Null without handler scripts (nothing else starts processes).
  const OrphanReaper* orphan_reaper() const { return reaper_.get(); }
  const EventCounts& counts() const { return counts_; }

 private:
  void on_event(const serf::Event& e);

  boost::asio::io_context& io_;
  serf::Serf& serf_;
  DispatchOptions options_;
  std::unique_ptr<ScriptHandlers> handlers_;
  std::unique_ptr<KongDelivery> kong_;
  std::unique_ptr<OrphanReaper> reaper_;
  EventCounts counts_;
  int subscription_ = 0;
  bool stopped_ = false;
};

}  // namespace kc::events
