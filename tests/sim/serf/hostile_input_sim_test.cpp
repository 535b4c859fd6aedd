// Hostile Serf messages inside gossip against a live Serf on the simulated network: queries
// and relays that name an address that is not an IP, query timeouts that would overflow the
// clock, a member name with control characters. Each is a counted drop, and nothing reaches
// the transport with an address it cannot send to.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "agent/gossip/messages.h"
#include "sim/serf/serf_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

// A Serf message as memberlist carries it: type 8 (user) in front.
kc::gossip::Bytes as_user_packet(const kc::gossip::Bytes& serf_msg) {
  kc::gossip::Bytes out(serf_msg.size() + 1);
  out[0] = static_cast<uint8_t>(kc::gossip::MsgType::User);
  std::copy(serf_msg.begin(), serf_msg.end(), out.begin() + 1);
  return out;
}

MessageQuery query_from(kc::gossip::Bytes addr, uint32_t flags = kQueryFlagAck) {
  MessageQuery q;
  q.ltime = 5;
  q.id = 77;
  q.addr = std::move(addr);
  q.port = 7946;
  q.source_node = "attacker";
  q.flags = flags;
  q.relay_factor = 2;
  q.timeout = 5s;
  q.name = "whoami";
  return q;
}

}  // namespace

TEST(SerfHostileInput, QueriesAndRelaysToNonIpsAreDropped) {
  SerfCluster c(3, 31);
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
  auto attacker = c.net().bind(Address{{10, 9, 9, 1}, 7946});
  Address target = SerfCluster::address_of(0);
  auto malformed_before = c.at(0).counters().malformed;

  attacker->send_packet(target, as_user_packet(encode(query_from({127, 0, 1}))));
  attacker->send_packet(target, as_user_packet(encode(query_from({}))));
  MessageQueryResponse inner{1, 2, "x", 0, {}};
  attacker->send_packet(target, as_user_packet(encode_relay(
                                    RelayHeader{Address{{1, 2, 3}, 7946}, "x"}, encode(inner))));
  c.clock().run_for(5s);

  EXPECT_EQ(c.net().stats().invalid_destinations, 0u);
  EXPECT_EQ(c.at(0).counters().malformed - malformed_before, 3u);
  EXPECT_EQ(
      c.at(0).memberlist().memberlist()->stats().dropped(kc::gossip::DropReason::HandlerError), 0u);
}

TEST(SerfHostileInput, AQueryTimeoutBeyondTheClockIsClamped) {
  SerfCluster c(1, 32);
  auto attacker = c.net().bind(Address{{10, 9, 9, 1}, 7946});
  auto q = query_from({10, 9, 9, 1}, 0);
  q.timeout = std::chrono::nanoseconds(INT64_MAX);
  attacker->send_packet(SerfCluster::address_of(0), as_user_packet(encode(q)));
  c.clock().run_for(1s);
  std::shared_ptr<Query> seen;
  for (auto& e : c.events(0))
    if (auto* got = std::get_if<std::shared_ptr<Query>>(&e)) seen = *got;
  ASSERT_NE(seen, nullptr);
  EXPECT_LE(seen->deadline - c.clock().now(), kMaxQueryTimeout);
  EXPECT_GT(seen->deadline, c.clock().now());
}

TEST(SerfHostileInput, IntentsForInventedNamesAreBoundedAndNotRebroadcast) {
  // A small bound keeps the test fast; the default (4096) works the same way.
  constexpr size_t kCap = 64;
  SerfCluster c(2, 33, [](kc::serf::Config& cfg) { cfg.max_recent_intents = kCap; });
  c.join_all_to(0);
  ASSERT_TRUE(c.clock().run_until([&] { return c.all_see_all_alive(); }, 60s));
  auto attacker = c.net().bind(Address{{10, 9, 9, 1}, 7946});
  const size_t held_before = c.at(0).recent_intent_count();
  const size_t peer_held_before = c.at(1).recent_intent_count();
  const size_t flood = kCap + 100;
  for (size_t i = 0; i < flood; ++i) {
    MessageJoin j{100 + i, "invented-" + std::to_string(i)};
    attacker->send_packet(SerfCluster::address_of(0), as_user_packet(encode(j)));
  }
  c.clock().run_for(10s);
  const size_t accepted = kCap - held_before;
  EXPECT_EQ(c.at(0).recent_intent_count(), kCap);
  EXPECT_EQ(c.at(0).counters().intents_dropped, flood - accepted);
  // Only the accepted ones were gossiped on: the peer holds those and refused none.
  EXPECT_EQ(c.at(1).recent_intent_count(), peer_held_before + accepted);
  EXPECT_EQ(c.at(1).counters().intents_dropped, 0u);
}

TEST(SerfHostileInput, OwnNameWithControlCharactersIsRefusedAtStart) {
  for (const std::string& bad :
       std::vector<std::string>{"tab\tname", "new\nline", "cr\rname", std::string("nul\0x", 5)}) {
    auto tweak = [bad](kc::serf::Config& cfg) { cfg.node_name = bad; };
    EXPECT_THROW(SerfCluster(1, 33, tweak), std::invalid_argument) << bad;
  }
}
