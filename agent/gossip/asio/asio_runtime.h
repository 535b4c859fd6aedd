// The production Scheduler and Transport on one Boost.Asio io_context: a UDP socket and a
// TCP listener on the same port, timers as steady_timers. No threads of its own.
#pragma once

#include <boost/asio.hpp>
#include <list>
#include <memory>
#include <unordered_map>

#include "agent/gossip/asio/read_buffer.h"
#include "agent/gossip/runtime.h"
#include "common/lifetime.h"

namespace kc::gossip {

class AsioScheduler : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io) {}
  ~AsioScheduler() override;
  TimePoint now() const override { return Clock::now(); }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;

 private:
  struct Pending {
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::function<void()> fn;
  };
  boost::asio::io_context& io_;
  std::unordered_map<TimerId, Pending> pending_;
  TimerId next_ = 1;
};

struct AsioTransportOptions {
  std::string bind = "0.0.0.0:7946";  // port 0 picks a free port (same for UDP and TCP)
  Duration stream_timeout = 10s;      // a whole inbound exchange
  // An inbound connection that sends nothing for this long is closed: a real member writes
  // its whole message at once, so only an idle (or hostile) client waits this long.
  Duration read_timeout = 5s;
  // Inbound connections at once (memberlist's push/pull concurrency limit). At the limit the
  // oldest connection still waiting for its request is closed to admit the new one, so idle
  // clients cannot lock members out; only when all are busy is the new one refused.
  size_t max_inbound_streams = 128;
};

class AsioTransport : public Transport {
 public:
  // Binds at once; throws std::system_error naming the address on failure.
  AsioTransport(boost::asio::io_context& io, AsioTransportOptions options);
  ~AsioTransport() override;

  Address local_address() const override { return local_; }
  void send_packet(const Address& to, Bytes data) override;
  void stream_request(const Address& to, Bytes request, bool expect_reply, Duration timeout,
                      ReplyHandler done) override;
  void set_handlers(PacketHandler on_packet, StreamHandler on_stream) override;
  void close() override;

  uint64_t packets_send_failed() const { return send_failed_; }
  TransportCounters counters() const override { return counters_; }
  size_t inbound_streams() const { return inbound_.size(); }

 private:
  class InboundStream;
  class OutboundStream;
  void receive_packet();
  void accept();
  // Makes room for one more inbound connection; false if every slot is busy.
  bool shed_oldest_idle();

  boost::asio::io_context& io_;
  AsioTransportOptions options_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Address local_;
  PacketHandler on_packet_;
  StreamHandler on_stream_;
  ReadBuffer<65536> recv_buf_;
  boost::asio::ip::udp::endpoint recv_from_;
  std::list<std::shared_ptr<InboundStream>> inbound_;  // oldest first
  TransportCounters counters_;
  uint64_t send_failed_ = 0;
  bool closed_ = false;
  LifetimeToken lifetime_;
};

// Conversions between the wire address form and Asio endpoints.
boost::asio::ip::address to_asio(const Bytes& ip);
Address from_asio(const boost::asio::ip::address& ip, uint16_t port);

}  // namespace kc::gossip
