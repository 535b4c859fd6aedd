#include "common/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace {

using kc::Backoff;

TEST(Backoff, GrowsToTheCapWithJitter) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 0.5);
  std::vector<long> seen;
  for (int i = 0; i < 10; ++i) seen.push_back(static_cast<long>(b.next().count()));
  // attempt n is in [base/2, base] with base = min(100 * 2^n, 1000)
  long base = 100;
  for (long ms : seen) {
    EXPECT_LE(ms, base);
    EXPECT_GE(ms, base / 2);
    base = std::min(base * 2, 1000L);
  }
  b.reset();
  EXPECT_LE(b.next().count(), 100);
}

}  // namespace
