// Runs the configured event handler scripts for Serf's events without ever blocking gossip.
// Each handler keeps serf's order (one invocation at a time, events in the order they came);
// different handlers run side by side up to a global concurrency limit. A handler that runs
// past the timeout is killed (with everything it started) and counted; a handler's queue is
// bounded and overflow is counted. A query handler's output answers the query, as in serf.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "agent/events/child_process.h"
#include "agent/events/handler_spec.h"
#include "agent/serf/event.h"
#include "common/lifetime.h"

namespace kc::events {

struct HandlerOptions {
  size_t max_concurrent = 4;  // handler processes running at once, over all handlers
  size_t queue_limit = 1024;  // events waiting per handler
  ChildOptions child;         // timeout, output limit, shell
  std::chrono::milliseconds slow_warning{1000};  // serf warns after 1 s
  // Names (or PREFIX*) of the agent's environment variables handlers receive besides the
  // basics (invocation.h, handler_environment).
  std::vector<std::string> env_allow;
};

// Plain counters, read by the metrics collector on the event loop.
struct HandlerStats {
  uint64_t runs = 0;          // finished invocations
  uint64_t failures = 0;      // exited non-zero or by a signal (timeouts excluded)
  uint64_t timeouts = 0;      // killed after the timeout
  uint64_t spawn_errors = 0;  // could not be started
  uint64_t dropped = 0;       // events not run because a queue was full (or on stop)
  uint64_t query_responses = 0;
  double seconds_sum = 0;  // summed run time of finished invocations
  size_t running = 0;      // right now
  size_t queued = 0;       // right now, over all handlers
};

class ScriptHandlers {
 public:
  using SelfFn = std::function<serf::Member()>;
  // Called after each invocation (tests, logging).
  using Observer = std::function<void(const HandlerSpec&, const ChildResult&)>;

  ScriptHandlers(boost::asio::io_context& io, std::vector<HandlerSpec> specs, SelfFn self,
                 HandlerOptions options = {});
  ~ScriptHandlers();

  // Queues the event for every matching handler and starts what the limit allows.
  void dispatch(const serf::Event& e);
  // Drops what is queued and kills what runs. Idempotent.
  void stop();

  const HandlerStats& stats() const { return stats_; }
  const std::vector<HandlerSpec>& specs() const;
  void set_observer(Observer o) { observer_ = std::move(o); }

 private:
  struct Slot;
  void pump();
  void start(Slot& slot);

  boost::asio::io_context& io_;
  SelfFn self_;
  HandlerOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<HandlerSpec> specs_;
  std::vector<std::string> base_env_;
  HandlerStats stats_;
  Observer observer_;
  size_t next_slot_ = 0;
  bool stopped_ = false;
  LifetimeToken lifetime_;
};

}  // namespace kc::events
