// memberlist's TransmitLimitedQueue: fewest transmits first, longest that fits first, named
// broadcasts replace their predecessor, each is sent at most the retransmit limit, and every
// callback runs exactly once (sent out, replaced, pruned or cleared).
#include "agent/gossip/broadcast_queue.h"

#include <gtest/gtest.h>

using namespace kc::gossip;

namespace {

Bytes msg(char tag, size_t len) {
  return Bytes(len, uint8_t(tag));
}

}  // namespace

TEST(GossipBroadcastQueue, RetransmitLimitScalesWithLog10) {
  EXPECT_EQ(retransmit_limit(4, 1), 4);
  EXPECT_EQ(retransmit_limit(4, 9), 4);
  EXPECT_EQ(retransmit_limit(4, 10), 8);
  EXPECT_EQ(retransmit_limit(4, 1000), 16);
}

TEST(GossipBroadcastQueue, NamedBroadcastReplacesItsPredecessor) {
  BroadcastQueue q(1, [] { return size_t(3); });
  int replaced = 0;
  q.queue(msg('a', 10), "node-1", [&] { ++replaced; });
  q.queue(msg('b', 12), "node-1");
  q.queue(msg('c', 5), "");
  q.queue(msg('d', 5), "");
  EXPECT_EQ(replaced, 1);
  EXPECT_EQ(q.size(), 3u);
  auto out = q.get(0, 1000);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], msg('b', 12));  // the longest first
  EXPECT_EQ(out[1], msg('d', 5));   // newest first among equal lengths
  EXPECT_EQ(out[2], msg('c', 5));
}

TEST(GossipBroadcastQueue, FewestTransmitsFirstAndTheLimitIsKept) {
  // num_nodes 3: the limit is 2 × ceil(log10(4)) = 2 transmits.
  BroadcastQueue q(2, [] { return size_t(3); });
  int finished = 0;
  q.queue(msg('a', 10), "a", [&] { ++finished; });
  EXPECT_EQ(q.get(0, 100), std::vector<Bytes>{msg('a', 10)});
  q.queue(msg('b', 4), "b");
  // b has fewer transmits than a, although a is longer.
  auto out = q.get(0, 100);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], msg('b', 4));
  EXPECT_EQ(out[1], msg('a', 10));
  EXPECT_EQ(finished, 1);                                     // a's second transmit was its last
  EXPECT_EQ(q.get(0, 100), std::vector<Bytes>{msg('b', 4)});  // b's second and last
  EXPECT_EQ(q.get(0, 100), std::vector<Bytes>{});
  EXPECT_EQ(q.size(), 0u);
  // b's index entry went with it: a new b is queued fresh.
  q.queue(msg('c', 3), "b");
  EXPECT_EQ(q.size(), 1u);
}

TEST(GossipBroadcastQueue, OnlyWhatFitsIsTaken) {
  BroadcastQueue q(4, [] { return size_t(10); });
  q.queue(msg('a', 50), "a");
  q.queue(msg('b', 30), "b");
  q.queue(msg('c', 10), "c");
  auto out = q.get(2, 45);  // 30 + 2 fits, then 10 + 2 does
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], msg('b', 30));
  EXPECT_EQ(out[1], msg('c', 10));
  // The sent ones were not lost, nor the one that did not fit; a resent one keeps its name.
  q.queue(msg('B', 30), "b");
  EXPECT_EQ(q.size(), 3u);
}

TEST(GossipBroadcastQueue, PruneAndClearRunEveryCallbackOnce) {
  BroadcastQueue q(4, [] { return size_t(10); });
  int done = 0;
  for (int i = 0; i < 5; ++i)
    q.queue(msg('a', size_t(10 + i)), "n" + std::to_string(i), [&] { ++done; });
  q.prune(3);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(done, 2);
  q.clear();
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(done, 5);
}

TEST(GossipBroadcastQueue, EqualMessagesInTwoQueuesShareTheirBytes) {
  size_t before = Interned::live_count();
  {
    BroadcastQueue q1(4, [] { return size_t(10); }), q2(4, [] { return size_t(10); });
    q1.queue(msg('x', 40), "node-9");
    q2.queue(msg('x', 40), "node-9");
    EXPECT_EQ(Interned::live_count(), before + 2);  // one name, one message
  }
  EXPECT_EQ(Interned::live_count(), before);
}
