// The per-type message counters behind kong_cluster_gossip_messages_total and
// kong_cluster_gossip_suspicions_total: exact counts for hand-made packets, and the counts a
// small cluster must show after joining (push/pull over TCP), probing (ping/ack over UDP)
// and a crash (suspicion).
#include <gtest/gtest.h>

#include "agent/gossip/compound.h"
#include "agent/gossip/messages.h"
#include "sim/gossip/sim_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

const MessageTally& received(Memberlist& m, MsgType t) {
  return m.stats().received[static_cast<size_t>(t)];
}
const MessageTally& sent(Memberlist& m, MsgType t) {
  return m.stats().sent[static_cast<size_t>(t)];
}

}  // namespace

TEST(GossipStats, CountsEachMessageOnceWithItsBytes) {
  SimCluster c(1, 21);
  auto peer = c.net().bind(Address{{10, 9, 9, 1}, 7946});
  peer->set_handlers([](const Address&, std::span<const uint8_t>) {},
                     [](const Address&, Bytes, Transport::Respond respond) { respond({}); });
  Memberlist& m = c.at(0);
  Address target = SimCluster::address_of(0);

  Bytes ping = encode(Ping{7, "node-0", {}, 0, {}});
  peer->send_packet(target, ping);
  c.clock().run_for(1s);
  EXPECT_EQ(received(m, MsgType::Ping).messages, 1u);
  EXPECT_EQ(received(m, MsgType::Ping).bytes, ping.size());
  EXPECT_EQ(sent(m, MsgType::Ack).messages, 1u);

  // A compound counts its parts, never itself.
  Bytes a1 = encode(Alive{1, "x", {10, 9, 9, 2}, 7946, {}, {1, 5, 2, 0, 0, 0}});
  Bytes a2 = encode(Alive{1, "y", {10, 9, 9, 3}, 7946, {}, {1, 5, 2, 0, 0, 0}});
  peer->send_packet(target, make_compound({a1, a2}));
  c.clock().run_for(100ms);
  EXPECT_EQ(received(m, MsgType::Alive).messages, 2u);
  EXPECT_EQ(received(m, MsgType::Alive).bytes, a1.size() + a2.size());
  EXPECT_EQ(received(m, MsgType::Compound).messages, 0u);
}

TEST(GossipStats, JoinProbeAndCrashShowUpByType) {
  SimCluster c(3, 22);
  c.join_all_to(0);
  c.clock().run_for(5s);
  ASSERT_TRUE(c.all_see_all_alive());
  // Two joins (and maybe catch-ups) reached node 0 over TCP; every push/pull is a request
  // and an answer, so each side counts as many sent as received.
  EXPECT_GE(received(c.at(0), MsgType::PushPull).messages, 2u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sent(c.at(i), MsgType::PushPull).messages,
              received(c.at(i), MsgType::PushPull).messages)
        << i;
    EXPECT_GT(sent(c.at(i), MsgType::Ping).messages, 0u) << i;
    EXPECT_GT(received(c.at(i), MsgType::Ack).messages, 0u) << i;
    EXPECT_GT(received(c.at(i), MsgType::Ack).bytes, received(c.at(i), MsgType::Ack).messages);
    EXPECT_EQ(c.at(i).stats().suspicions, 0u) << i;
  }
  c.crash(2);
  c.clock().run_for(10s);
  EXPECT_GE(c.at(0).stats().suspicions + c.at(1).stats().suspicions, 1u);
  EXPECT_GT(received(c.at(0), MsgType::Suspect).messages + sent(c.at(0), MsgType::Suspect).messages,
            0u);
}
