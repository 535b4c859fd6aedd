#include "agent/events/script_handlers.h"

#include <boost/asio/steady_timer.hpp>

#include "agent/events/invocation.h"
#include "common/logging.h"

namespace kc::events {

struct ScriptHandlers::Slot {
  HandlerSpec spec;
  std::deque<serf::Event> queue;
  std::shared_ptr<ChildProcess> running;
};

ScriptHandlers::ScriptHandlers(boost::asio::io_context& io, std::vector<HandlerSpec> specs,
                               SelfFn self, HandlerOptions options)
    : io_(io), self_(std::move(self)), options_(std::move(options)), specs_(std::move(specs)) {
  if (options_.max_concurrent == 0) options_.max_concurrent = 1;
  for (auto& s : specs_) {
    auto slot = std::make_unique<Slot>();
    slot->spec = s;
    slots_.push_back(std::move(slot));
  }
  base_env_ = handler_environment(process_environment(), options_.env_allow);
}

ScriptHandlers::~ScriptHandlers() {
  stop();
  lifetime_.end();
}

const std::vector<HandlerSpec>& ScriptHandlers::specs() const {
  return specs_;
}

void ScriptHandlers::dispatch(const serf::Event& e) {
  if (stopped_) return;
  for (auto& slot : slots_) {
    if (!slot->spec.matches(e)) continue;
    if (slot->queue.size() >= options_.queue_limit) {
      // Logged once per 100 drops: a flood must not also flood the log.
      if (stats_.dropped++ % 100 == 0)
        kc::log::get("agent")->error(
            "event handler '{}' is {} events behind; dropping {} events ({} so far)",
            slot->spec.command, slot->queue.size(), serf::to_string(serf::event_type(e)),
            stats_.dropped);
      continue;
    }
    slot->queue.push_back(e);
    ++stats_.queued;
  }
  pump();
}

void ScriptHandlers::pump() {
  // Round-robin from where the last pass stopped, so a busy handler cannot starve the others
  // when there are more handlers than the concurrency limit.
  for (size_t i = 0; i < slots_.size() && stats_.running < options_.max_concurrent; ++i) {
    auto& slot = *slots_[(next_slot_ + i) % slots_.size()];
    if (!slot.running && !slot.queue.empty()) start(slot);
  }
  if (!slots_.empty()) next_slot_ = (next_slot_ + 1) % slots_.size();
}

void ScriptHandlers::start(Slot& slot) {
  auto event = std::move(slot.queue.front());
  slot.queue.pop_front();
  --stats_.queued;
  ++stats_.running;
  auto inv = make_invocation(event, self_(), base_env_);
  auto log = kc::log::get("agent");
  auto type = serf::to_string(serf::event_type(event));
  log->debug("running event handler '{}' for {}", slot.spec.command, type);

  // serf logs a warning once a handler has run for a second.
  auto slow = std::make_shared<boost::asio::steady_timer>(io_, options_.slow_warning);
  slow->async_wait([command = slot.spec.command, log,
                    w = options_.slow_warning](const boost::system::error_code& ec) {
    if (!ec) log->warn("event handler '{}' slow, execution exceeding {} ms", command, w.count());
  });
  Slot* sp = &slot;
  slot.running = ChildProcess::run(
      io_, slot.spec.command, inv.env, std::move(inv.input), options_.child,
      [this, alive = lifetime_.watch(), sp, event, slow, log, type](const ChildResult& r) {
        slow->cancel();
        if (alive.expired()) return;
        sp->running.reset();
        --stats_.running;
        ++stats_.runs;
        stats_.seconds_sum += std::chrono::duration<double>(r.elapsed).count();
        const auto& cmd = sp->spec.command;
        if (!r.started) {
          ++stats_.spawn_errors;
          log->error("event handler '{}': {}", cmd, r.error);
        } else if (r.timed_out) {
          ++stats_.timeouts;
          log->error("event handler '{}' for {} timed out after {} ms and was killed", cmd, type,
                     options_.child.timeout.count());
        } else if (stopped_) {
          log->debug("event handler '{}' stopped with the agent", cmd);
        } else if (!r.ok()) {
          ++stats_.failures;
          log->error("event handler '{}' for {} failed ({} {}); output: {}", cmd, type,
                     r.signal ? "signal" : "exit code", r.signal ? r.signal : r.exit_code,
                     r.output);
        } else {
          log->debug("event handler '{}' for {} output: {}", cmd, type, r.output);
        }
        // serf: a query handler that succeeded and printed something answers the query.
        if (auto* q = std::get_if<std::shared_ptr<serf::Query>>(&event);
            q && *q && r.ok() && r.output_total > 0) {
          auto err = (*q)->respond(serf::Bytes(r.output.begin(), r.output.end()));
          if (err.empty())
            ++stats_.query_responses;
          else
            log->warn("failed to respond to query '{}': {}", (*q)->name, err);
        }
        if (observer_) observer_(sp->spec, r);
        if (!stopped_) pump();
      });
}

void ScriptHandlers::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& slot : slots_) {
    stats_.dropped += slot->queue.size();
    stats_.queued -= slot->queue.size();
    slot->queue.clear();
    if (slot->running) slot->running->kill();
  }
}

}  // namespace kc::events
