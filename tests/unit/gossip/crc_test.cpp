// hasCrc framing (docs/wire.md, "CRC") against Go-generated and captured packets.
#include "agent/gossip/codec/crc.h"

#include <gtest/gtest.h>

#include "support/vectors.h"

namespace kc::gossip {
namespace {

using test::Bytes;
using test::load_vectors;
using test::to_hex;
using test::vector_named;

TEST(Crc, CheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32_ieee(Bytes(check.begin(), check.end())), 0xCBF43926u);
  EXPECT_EQ(crc32_ieee({}), 0u);
}

TEST(Crc, WrapsLikeGo) {
  const Bytes ping = vector_named("generated_memberlist.txt", "ping").bytes("hex");
  const Bytes crc_ping = vector_named("generated_memberlist.txt", "crc_ping").bytes("hex");
  EXPECT_EQ(to_hex(wrap_crc(ping)), to_hex(crc_ping));
  auto inner = unwrap_crc(crc_ping);
  ASSERT_TRUE(inner);
  EXPECT_EQ(to_hex(Bytes(inner->begin(), inner->end())), to_hex(ping));
  EXPECT_EQ(inner->data(), crc_ping.data() + 5);  // a view, not a copy
}

TEST(Crc, CapturedPacketsVerify) {
  int checked = 0;
  for (const char* file : {"captured_udp.txt", "captured_encrypted.txt"}) {
    for (const auto& v : load_vectors(file)) {
      const std::string field = file == std::string("captured_udp.txt") ? "hex" : "plain";
      if (!v.has(field)) continue;
      const Bytes packet = v.bytes(field);
      if (packet.empty() || packet[0] != 0x0c) continue;
      SCOPED_TRACE(v.name());
      auto inner = unwrap_crc(packet);
      ASSERT_TRUE(inner);
      EXPECT_EQ(to_hex(wrap_crc(*inner)), to_hex(packet));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 9);
}

TEST(Crc, RejectsCorruption) {
  const Bytes crc_ping = vector_named("generated_memberlist.txt", "crc_ping").bytes("hex");
  for (size_t i = 0; i < crc_ping.size(); ++i) {
    Bytes bad = crc_ping;
    bad[i] ^= 0x01;
    EXPECT_FALSE(unwrap_crc(bad)) << "byte " << i;
  }
}

TEST(Crc, RejectsShortOrOtherTypes) {
  for (size_t n = 0; n < 5; ++n) EXPECT_FALSE(unwrap_crc(Bytes(n, 0x0c))) << n;
  const Bytes ping = vector_named("generated_memberlist.txt", "ping").bytes("hex");
  EXPECT_FALSE(unwrap_crc(ping));
}

TEST(Crc, EmptyInner) {
  const Bytes wrapped = wrap_crc({});
  EXPECT_EQ(to_hex(wrapped), "0c00000000");
  auto inner = unwrap_crc(wrapped);
  ASSERT_TRUE(inner);
  EXPECT_TRUE(inner->empty());
}

}  // namespace
}  // namespace kc::gossip
