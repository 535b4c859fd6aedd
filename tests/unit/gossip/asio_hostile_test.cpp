// The production transport on loopback against hostile clients: the one-datagram crash
// (a ping whose SourceAddr is 3 bytes), and idle TCP connections that used to fill every
// inbound slot so that joins failed.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "agent/gossip/asio/asio_runtime.h"
#include "agent/gossip/memberlist.h"
#include "agent/gossip/messages.h"
#include "common/logging.h"
#include "common/msgpack/writer.h"
#include "unit/gossip/hostile_packets.h"

using namespace kc::gossip;
using namespace std::chrono_literals;
namespace net = boost::asio;

namespace {

// One memberlist on 127.0.0.1 (free port) with the production Asio runtime.
struct LoopbackMember {
  LoopbackMember(net::io_context& io, const std::string& name, AsioTransportOptions opts = {})
      : scheduler(io) {
    kc::log::set_level("err");
    opts.bind = "127.0.0.1:0";
    transport = std::make_unique<AsioTransport>(io, opts);
    Config c = Config::local();
    c.name = name;
    c.advertise = transport->local_address();
    c.seed = 3;
    list = std::make_unique<Memberlist>(c, scheduler, *transport, Delegates{});
    list->start();
  }
  net::ip::udp::endpoint udp_endpoint() const {
    return {net::ip::make_address("127.0.0.1"), transport->local_address().port};
  }
  net::ip::tcp::endpoint tcp_endpoint() const {
    return {net::ip::make_address("127.0.0.1"), transport->local_address().port};
  }
  AsioScheduler scheduler;
  std::unique_ptr<AsioTransport> transport;
  std::unique_ptr<Memberlist> list;
};

// Runs the loop until `done` or `limit`; the loop must not throw (a throw is the crash).
bool run_until(net::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    io.run_for(20ms);
  }
  return done();
}

// Sends `packet` from `client` to `to` and returns the first datagram that comes back within
// two seconds (empty if none).
kc::gossip::Bytes send_and_receive(net::io_context& io, net::ip::udp::socket& client,
                                   const kc::gossip::Bytes& packet,
                                   const net::ip::udp::endpoint& to) {
  client.send_to(net::buffer(packet), to);
  std::array<uint8_t, 1500> buf{};
  size_t got = 0;
  client.async_receive(net::buffer(buf), [&](const boost::system::error_code& ec, size_t n) {
    if (!ec) got = n;
  });
  EXPECT_NO_THROW(run_until(
      io, [&] { return got > 0; }, 2000ms));
  if (got == 0) client.cancel();  // the pending receive must not outlive buf
  io.poll();
  return kc::gossip::Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
}

}  // namespace

TEST(AsioHostile, ThirtySevenBytePingDoesNotStopTheEventLoop) {
  net::io_context io;
  LoopbackMember m(io, "target");
  const std::string& packet = kc::test::kThreeByteSourcePing;
  net::ip::udp::socket client(io, net::ip::udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  client.send_to(net::buffer(packet), m.udp_endpoint());
  EXPECT_NO_THROW(run_until(
      io, [&] { return m.list->stats().dropped(DropReason::BadAddress) > 0; }, 2000ms));
  EXPECT_EQ(m.list->stats().dropped(DropReason::BadAddress), 1u);

  // Still answering: a plain ping from the same socket gets its ack.
  kc::gossip::Bytes ping{0x00};
  kc::mp::Writer w(ping);
  w.map(2);
  w.key("Node").str("target");
  w.key("SeqNo").uint(9);
  EXPECT_GT(send_and_receive(io, client, ping, m.udp_endpoint()).size(), 0u);
}

TEST(AsioHostile, IdleConnectionsAreShedSoJoinsStillWork) {
  net::io_context io;
  AsioTransportOptions opts;
  opts.max_inbound_streams = 16;
  opts.read_timeout = 30s;  // shedding, not the deadline, must make room here
  LoopbackMember seed(io, "seed", opts);
  // Fill every slot, and then some, with connections that never send a byte.
  std::vector<std::unique_ptr<net::ip::tcp::socket>> idle;
  for (int i = 0; i < 24; ++i) {
    idle.push_back(std::make_unique<net::ip::tcp::socket>(io));
    idle.back()->connect(seed.tcp_endpoint());
  }
  ASSERT_TRUE(run_until(
      io, [&] { return seed.transport->counters().streams_shed >= 8; }, 3000ms));
  EXPECT_EQ(seed.transport->inbound_streams(), 16u);

  LoopbackMember joiner(io, "joiner");
  std::optional<int> joined;
  joiner.list->join({seed.transport->local_address().to_string()},
                    [&](int n, std::string) { joined = n; });
  ASSERT_TRUE(run_until(
      io, [&] { return joined.has_value(); }, 5000ms));
  EXPECT_EQ(*joined, 1);
  EXPECT_GE(seed.list->stats().dropped(DropReason::StreamShed), 9u);
}

TEST(AsioHostile, AConnectionThatSendsNothingIsClosedAtTheReadDeadline) {
  net::io_context io;
  AsioTransportOptions opts;
  opts.read_timeout = 300ms;
  LoopbackMember m(io, "target", opts);
  net::ip::tcp::socket idle(io);
  idle.connect(m.tcp_endpoint());
  auto start = std::chrono::steady_clock::now();
  std::array<uint8_t, 16> buf{};
  std::optional<boost::system::error_code> closed;
  idle.async_read_some(net::buffer(buf),
                       [&](const boost::system::error_code& ec, size_t) { closed = ec; });
  ASSERT_TRUE(run_until(
      io, [&] { return closed.has_value(); }, 5000ms));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(*closed, net::error::eof);
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);  // the whole-exchange deadline is 10 s: the read deadline fired
  EXPECT_EQ(m.list->stats().dropped(DropReason::StreamIdle), 1u);
}

TEST(AsioTransport, AcksAGoPeersPingThatNamesItsAddressIpv4Mapped) {
  // Go's memberlist puts an IPv4 address on the wire in its 16-byte form (::ffff:a.b.c.d) when
  // it bound 0.0.0.0. Sent as an IPv6 address on our IPv4 socket, the ack failed
  // (EAFNOSUPPORT) and serf saw every UDP probe of the agent time out.
  net::io_context io;
  LoopbackMember m(io, "target");
  net::ip::udp::socket client(io, net::ip::udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  kc::gossip::Bytes ping{0x00};
  kc::mp::Writer w(ping);
  w.map(5);
  w.key("SeqNo").uint(11);
  w.key("Node").str("target");
  w.key("SourceAddr").bytes(mapped);
  w.key("SourcePort").uint(client.local_endpoint().port());
  w.key("SourceNode").str("go-peer");
  auto reply = send_and_receive(io, client, ping, m.udp_endpoint());
  ASSERT_GT(reply.size(), 0u);
  // The ack alone, or packed with gossip into a compound message.
  EXPECT_TRUE(reply[0] == static_cast<uint8_t>(MsgType::Ack) ||
              reply[0] == static_cast<uint8_t>(MsgType::Compound))
      << int(reply[0]);
  EXPECT_EQ(m.transport->local_address().ip.size(), 4u);
}
