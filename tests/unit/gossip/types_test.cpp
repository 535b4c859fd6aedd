// Addresses as the wire carries them: 4 bytes, 16 bytes, and Go's 16-byte form of an IPv4
// address, which names the same endpoint as the 4-byte one.
#include "agent/gossip/types.h"

#include <gtest/gtest.h>

using namespace kc::gossip;

namespace {

Address mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  return Address{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d}, port};
}

}  // namespace

TEST(GossipAddress, ParseAndPrint) {
  EXPECT_EQ(Address::parse("10.0.0.1:7946").to_string(), "10.0.0.1:7946");
  EXPECT_EQ(Address::parse("[fe80::1]:7946").to_string(), "[fe80::1]:7946");
  EXPECT_THROW(Address::parse("10.0.0.1"), std::exception);
}

TEST(GossipAddress, Ipv4MappedIsTheSameEndpointAsIpv4) {
  Address v4 = Address::parse("10.99.0.2:7946");
  Address go_form = mapped(10, 99, 0, 2, 7946);
  EXPECT_NE(v4, go_form);  // the bytes differ, as on the wire
  EXPECT_EQ(go_form.unmapped(), v4);
  EXPECT_TRUE(go_form.same_endpoint(v4));
  EXPECT_TRUE(v4.same_endpoint(go_form));
  EXPECT_FALSE(mapped(10, 99, 0, 3, 7946).same_endpoint(v4));
  EXPECT_FALSE(mapped(10, 99, 0, 2, 7947).same_endpoint(v4));
  // A real IPv6 address stays as it is.
  Address v6 = Address::parse("[fe80::1]:7946");
  EXPECT_EQ(v6.unmapped(), v6);
}
