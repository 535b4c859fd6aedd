// The Vivaldi client, following serf/coordinate's own tests.
#include "agent/serf/coordinate/coordinate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/msgpack/reader.h"

namespace kc::serf::coordinate {
namespace {

using namespace std::chrono_literals;

double secs(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1e9;
}

TEST(Coordinate, DistanceAndAdjustment) {
  Config cfg;
  cfg.dimensionality = 3;
  auto a = Coordinate::initial(cfg);
  auto b = Coordinate::initial(cfg);
  a.vec = {-0.5, 1.3, 2.4};
  b.vec = {1.2, -2.3, 3.4};
  double raw = std::sqrt(1.7 * 1.7 + 3.6 * 3.6 + 1.0 * 1.0) + a.height + b.height;
  EXPECT_NEAR(secs(a.distance_to(b)), raw, 1e-9);
  a.adjustment = 0.1;
  EXPECT_NEAR(secs(a.distance_to(b)), raw + 0.1, 1e-9);
  a.adjustment = -100;  // would go negative: ignored
  EXPECT_NEAR(secs(a.distance_to(b)), raw, 1e-9);
}

TEST(Client, UpdateMovesTowardMeasuredRtt) {
  Config cfg;
  cfg.dimensionality = 3;
  cfg.height_min = 0;
  Client c(cfg, 7);
  auto other = Coordinate::initial(cfg);
  other.vec = {0, 0, 0};
  // Coincident at first: pushed in a random direction, away by something like the RTT.
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.update("node", other, 100ms), "");
  EXPECT_NEAR(secs(c.distance_to(other)), 0.1, 0.02);
  EXPECT_LT(c.coordinate().error, 1.5);
}

TEST(Client, RejectsBadInput) {
  Client c;
  auto other = Coordinate::initial({});
  other.vec.resize(3);
  EXPECT_EQ(c.update("n", other, 10ms), "dimensions aren't compatible");
  other = Coordinate::initial({});
  other.vec[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(c.update("n", other, 10ms), "coordinate is invalid");
  other = Coordinate::initial({});
  EXPECT_NE(c.update("n", other, -1ms), "");
  EXPECT_NE(c.update("n", other, 11s), "");
  EXPECT_EQ(c.update("n", other, 0ms), "");
}

TEST(Client, LatencyFilterUsesMedianOfThree) {
  Config cfg;
  cfg.dimensionality = 2;
  Client a(cfg, 1), b(cfg, 1);
  auto other = Coordinate::initial(cfg);
  other.vec = {0.01, 0};
  // A single outlier among steady samples changes nothing once filtered.
  a.update("n", other, 10ms);
  a.update("n", other, 10ms);
  a.update("n", other, 10ms);
  b.update("n", other, 10ms);
  b.update("n", other, 10ms);
  b.update("n", other, 10ms);
  a.update("n", other, 500ms);
  b.update("n", other, 10ms);
  EXPECT_NEAR(a.coordinate().vec[0], b.coordinate().vec[0], 1e-12);
  EXPECT_NEAR(a.coordinate().vec[1], b.coordinate().vec[1], 1e-12);
}

TEST(Coordinate, EncodeDecodeRoundTrip) {
  auto c = Coordinate::initial({});
  c.vec[3] = -0.25;
  c.adjustment = 1e-4;
  EXPECT_EQ(decode(encode(c)), c);
  EXPECT_THROW(decode(std::vector<uint8_t>{0x81, 0xa3, 'V', 'e', 'c', 0xa1, 'x'}), mp::DecodeError);
}

}  // namespace
}  // namespace kc::serf::coordinate
