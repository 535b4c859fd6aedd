#include "common/log_limit.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using kc::log::RateLimit;
using namespace std::chrono_literals;

TEST(RateLimit, LetsABurstThroughThenCountsTheRest) {
  RateLimit limit(10s, 3);
  auto t0 = RateLimit::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limit.admit(t0), 0u) << i;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limit.admit(t0 + 1s).has_value());
  EXPECT_EQ(limit.suppressed_total(), 100u);
  // The next window's first line reports what was left out, once.
  EXPECT_EQ(limit.admit(t0 + 10s), 100u);
  EXPECT_EQ(limit.admit(t0 + 10s), 0u);
  EXPECT_EQ(limit.suppressed_total(), 100u);
}

TEST(RateLimit, NoteNamesTheCount) {
  EXPECT_EQ(kc::log::suppressed_note(0), "");
  EXPECT_EQ(kc::log::suppressed_note(1), " (1 similar line suppressed)");
  EXPECT_EQ(kc::log::suppressed_note(7), " (7 similar lines suppressed)");
}

TEST(RateLimit, LimitedWritesAtMostTheBurstToTheLog) {
  std::vector<std::string> lines;
  int id = kc::log::subscribe([&](const kc::log::Line& l) { lines.push_back(l.text); });
  RateLimit limit(1h, 2);
  auto logger = kc::log::get("limit-test");
  for (int i = 0; i < 1000; ++i)
    kc::log::limited(limit, *logger, spdlog::level::err, "rejected peer {}", i);
  kc::log::unsubscribe(id);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("rejected peer 0"), std::string::npos);
  EXPECT_NE(lines[1].find("rejected peer 1"), std::string::npos);
  EXPECT_EQ(limit.suppressed_total(), 998u);
}

}  // namespace
