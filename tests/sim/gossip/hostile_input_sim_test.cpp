// Hostile packets against a live member on the simulated network: addresses that are not
// IPs, spoofed pings that would make us push our state elsewhere, names with control
// characters. Each must be a counted drop; nothing may reach the transport with an address it
// cannot send to (the simulator counts those, as the real transport would refuse them).
#include <gtest/gtest.h>

#include "agent/gossip/messages.h"
#include "sim/gossip/raw_peer.h"
#include "sim/gossip/sim_cluster.h"
#include "unit/gossip/hostile_packets.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

Bytes three_byte_source_ping() {
  return Bytes(kThreeByteSourcePing.begin(), kThreeByteSourcePing.end());
}

uint64_t dropped(SimCluster& c, DropReason r) {
  return c.at(0).stats().dropped(r);
}

}  // namespace

TEST(HostileInput, PingWithAThreeByteSourceAddrIsADropNotACrash) {
  SimCluster c(1, 21);
  RawPeer attacker(c.net(), Address{{10, 9, 9, 1}, 7946});
  auto packet = three_byte_source_ping();
  ASSERT_EQ(packet.size(), 37u);
  attacker.transport->send_packet(SimCluster::address_of(0), packet);
  c.clock().run_for(1s);
  EXPECT_EQ(c.net().stats().invalid_destinations, 0u);  // no ack toward a 3-byte "IP"
  EXPECT_EQ(dropped(c, DropReason::BadAddress), 1u);
  EXPECT_EQ(dropped(c, DropReason::HandlerError), 0u);
  EXPECT_TRUE(attacker.acks().empty());
  // Still serving: a well-formed ping is answered.
  attacker.transport->send_packet(SimCluster::address_of(0), encode(Ping{2, "node-0", {}, 0, {}}));
  c.clock().run_for(1s);
  ASSERT_EQ(attacker.acks().size(), 1u);
  EXPECT_EQ(attacker.acks()[0].seq_no, 2u);
}

TEST(HostileInput, EveryAddressFieldRefusesNonIps) {
  SimCluster c(1, 22);
  RawPeer attacker(c.net(), Address{{10, 9, 9, 1}, 7946});
  Address target = SimCluster::address_of(0);
  Bytes bad{1, 2, 3};
  attacker.transport->send_packet(target, encode(IndirectPing{5, bad, 7946, "x", true, {}, 0, {}}));
  attacker.transport->send_packet(target, encode(IndirectPing{6, {}, 7946, "x", true, {}, 0, {}}));
  attacker.transport->send_packet(
      target, encode(IndirectPing{7, {10, 9, 9, 3}, 7946, "x", true, bad, 7946, "y"}));
  attacker.transport->send_packet(target,
                                  encode(Alive{1, "evil", bad, 7946, {}, {1, 5, 2, 2, 5, 5}}));
  // Over TCP as well: a stream ping with a bad source is refused with an error reply.
  attacker.transport->stream_request(target, three_byte_source_ping(), true, 1s,
                                     [](std::optional<Bytes>, std::string) {});
  c.clock().run_for(3s);
  EXPECT_EQ(c.net().stats().invalid_destinations, 0u);
  EXPECT_EQ(dropped(c, DropReason::BadAddress), 5u);
  EXPECT_FALSE(c.at(0).find("evil").has_value());
  EXPECT_EQ(dropped(c, DropReason::HandlerError), 0u);
}

TEST(HostileInput, SpoofedPingsDoNotMakeUsPushStateElsewhere) {
  SimCluster c(1, 23);
  RawPeer attacker(c.net(), Address{{10, 9, 9, 1}, 7946});
  RawPeer victim(c.net(), Address{{10, 9, 9, 2}, 7946});
  Address target = SimCluster::address_of(0);
  // 20 pings from unknown "members" that all claim to be the victim.
  for (int i = 0; i < 20; ++i)
    attacker.transport->send_packet(
        target, encode(Ping{uint32_t(i), "node-0", {10, 9, 9, 2}, 7946, "m" + std::to_string(i)}));
  c.clock().run_for(2s);
  EXPECT_TRUE(victim.streams.empty());
  EXPECT_EQ(dropped(c, DropReason::CatchUpRefused), 20u);
}

TEST(HostileInput, CatchUpsWithUnknownPingersAreRateLimited) {
  Config base = Config::lan();
  SimCluster c(1, 24, base);
  RawPeer pinger(c.net(), Address{{10, 9, 9, 1}, 7946});
  Address target = SimCluster::address_of(0);
  // 20 pings under 20 new names, each claiming the sender's own address (not spoofed): the
  // catch-up is plausible, but only the bucket's burst may go out at once.
  for (int i = 0; i < 20; ++i)
    pinger.transport->send_packet(
        target, encode(Ping{uint32_t(i), "node-0", {10, 9, 9, 1}, 7946, "m" + std::to_string(i)}));
  c.clock().run_for(1s);
  EXPECT_EQ(pinger.streams.size(), size_t(base.catch_up_burst));
  EXPECT_EQ(dropped(c, DropReason::CatchUpRefused), 20u - base.catch_up_burst);
  // The bucket refills: one more after an interval.
  c.clock().run_for(base.catch_up_interval);
  pinger.transport->send_packet(target, encode(Ping{99, "node-0", {10, 9, 9, 1}, 7946, "late"}));
  c.clock().run_for(1s);
  EXPECT_EQ(pinger.streams.size(), size_t(base.catch_up_burst) + 1);
}

TEST(HostileInput, NamesWithControlCharactersAreRefused) {
  SimCluster c(1, 25);
  RawPeer attacker(c.net(), Address{{10, 9, 9, 1}, 7946});
  Address target = SimCluster::address_of(0);
  Bytes vsn{1, 5, 2, 2, 5, 5};
  attacker.transport->send_packet(target,
                                  encode(Alive{1, "evil\tname", {10, 9, 9, 1}, 7946, {}, vsn}));
  attacker.transport->send_packet(target,
                                  encode(Alive{1, "evil\nrow", {10, 9, 9, 1}, 7946, {}, vsn}));
  attacker.transport->send_packet(target,
                                  encode(Alive{1, "fine-name", {10, 9, 9, 1}, 7946, {}, vsn}));
  c.clock().run_for(1s);
  EXPECT_EQ(dropped(c, DropReason::BadName), 2u);
  EXPECT_FALSE(c.at(0).find("evil\tname").has_value());
  EXPECT_FALSE(c.at(0).find("evil\nrow").has_value());
  EXPECT_TRUE(c.at(0).find("fine-name").has_value());
}
