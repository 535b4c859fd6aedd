// Interned strings: equal texts share one record, and the last handle frees it (churning
// member names must not accumulate).
#include "agent/gossip/interned.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace kc::gossip;

TEST(GossipInterned, EqualTextsShareOneRecord) {
  size_t before = Interned::live_count();
  Interned a("kong-7d9f8c6b5-x2k4q");
  Interned b(std::string("kong-7d9f8c6b5-") + "x2k4q");
  Interned c("kong-7d9f8c6b5-zzzzz");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.str(), "kong-7d9f8c6b5-x2k4q");
  EXPECT_EQ(a.hash(), std::hash<std::string_view>{}("kong-7d9f8c6b5-x2k4q"));
  EXPECT_TRUE(a == std::string_view("kong-7d9f8c6b5-x2k4q"));
  EXPECT_EQ(Interned::live_count(), before + 2);
}

TEST(GossipInterned, EmptyNeedsNoRecord) {
  size_t before = Interned::live_count();
  Interned e(""), d;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e, d);
  EXPECT_EQ(e.str(), "");
  EXPECT_EQ(e.bytes().size(), 0u);
  EXPECT_EQ(Interned::live_count(), before);
}

TEST(GossipInterned, TheLastHandleFreesTheText) {
  size_t before = Interned::live_count();
  for (int round = 0; round < 100; ++round) {
    Interned name("pod-" + std::to_string(round));
    Interned copy = name;
    Interned moved = std::move(copy);
    Interned assigned;
    assigned = moved;
    assigned = assigned;  // self-assignment keeps it
    EXPECT_EQ(assigned.str(), "pod-" + std::to_string(round));
    EXPECT_EQ(Interned::live_count(), before + 1);
  }
  EXPECT_EQ(Interned::live_count(), before);
}

TEST(GossipInterned, BytesRoundTrip) {
  std::vector<uint8_t> meta{0x81, 0xa2, 'd', 'c', 0x00, 0xff};
  Interned m{std::span<const uint8_t>(meta)};
  EXPECT_TRUE(std::ranges::equal(m.bytes(), meta));
}

TEST(GossipInterned, HandlesCrossThreads) {
  size_t before = Interned::live_count();
  auto churn = [] {
    for (int i = 0; i < 20000; ++i) {
      Interned a("shared-" + std::to_string(i % 7));
      Interned b = a;
    }
  };
  std::thread t1(churn), t2(churn);
  t1.join();
  t2.join();
  EXPECT_EQ(Interned::live_count(), before);
}
