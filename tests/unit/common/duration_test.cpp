// Go-style durations.
#include "common/duration.h"

#include <gtest/gtest.h>

namespace kc {
namespace {

TEST(ParseDuration, ReadsGoDurations) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(parse_duration("15s"), nanoseconds(15'000'000'000));
  EXPECT_EQ(parse_duration("500ms"), nanoseconds(500'000'000));
  EXPECT_EQ(parse_duration("1m30s"), nanoseconds(90'000'000'000));
  EXPECT_EQ(parse_duration("1.5s"), nanoseconds(1'500'000'000));
  EXPECT_EQ(parse_duration("2h"), nanoseconds(7'200'000'000'000));
  EXPECT_EQ(parse_duration("10us"), nanoseconds(10'000));
  EXPECT_EQ(parse_duration("0"), nanoseconds(0));
  EXPECT_FALSE(parse_duration("15"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("1x"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("1..2s"));
  EXPECT_FALSE(parse_duration("99999999999h"));
}

}  // namespace
}  // namespace kc
