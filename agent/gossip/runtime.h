// What the gossip core needs from the world: time and timers (Scheduler), and a network
// (Transport). Production uses Asio; the simulator uses a virtual clock and an in-memory
// network so a thousand members run deterministically in one process.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "agent/gossip/types.h"

namespace kc::gossip {

class Scheduler {
 public:
  using TimerId = uint64_t;
  virtual ~Scheduler() = default;
  virtual TimePoint now() const = 0;
  // Runs `fn` once after `delay` on the event loop. Cancelling an unknown or fired id is a no-op.
  virtual TimerId schedule(Duration delay, std::function<void()> fn) = 0;
  virtual void cancel(TimerId id) = 0;
  // Runs `fn` soon on the event loop (not from within the caller).
  void post(std::function<void()> fn) { schedule(Duration::zero(), std::move(fn)); }
};

// A timer handle that cancels on destruction and on re-arm.
class Timer {
 public:
  explicit Timer(Scheduler& s) : sched_(&s) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void arm(Duration delay, std::function<void()> fn) {
    cancel();
    id_ = sched_->schedule(delay, [this, fn = std::move(fn)] {
      id_ = 0;
      fn();
    });
  }
  void cancel() {
    if (id_) sched_->cancel(id_);
    id_ = 0;
  }
  bool armed() const { return id_ != 0; }

 private:
  Scheduler* sched_;
  Scheduler::TimerId id_ = 0;
};

// Datagrams and stream exchanges. Stream requests and replies are whole stream messages as
// framed on the wire (see stream.h); the transport finds message boundaries with
// `stream_message_length`.
// What a transport threw away on its own (before any message reached the handlers).
struct TransportCounters {
  uint64_t streams_shed = 0;  // idle inbound connections closed to admit a new one
  uint64_t streams_idle = 0;  // inbound connections closed after the read deadline
};

class Transport {
 public:
  using PacketHandler = std::function<void(const Address& from, std::span<const uint8_t> data)>;
  using Respond = std::function<void(Bytes reply)>;  // empty reply = close without answer
  using StreamHandler = std::function<void(const Address& from, Bytes request, Respond respond)>;
  using ReplyHandler = std::function<void(std::optional<Bytes> reply, std::string error)>;

  virtual ~Transport() = default;
  virtual Address local_address() const = 0;  // the bound address (port resolved)
  virtual void send_packet(const Address& to, Bytes data) = 0;
  // Connects, sends `request`; if expect_reply, waits for one stream message (or error).
  // Without expect_reply, the callback fires once the request is written (reply nullopt).
  virtual void stream_request(const Address& to, Bytes request, bool expect_reply, Duration timeout,
                              ReplyHandler done) = 0;
  virtual void set_handlers(PacketHandler on_packet, StreamHandler on_stream) = 0;
  virtual void close() = 0;
  virtual TransportCounters counters() const { return {}; }
};

}  // namespace kc::gossip
