// The receive pipeline opens every captured packet and stream of real Serf traffic (plain,
// compressed, CRC, encrypted), and rejects broken ones without crashing.
#include "agent/gossip/envelope.h"

#include <gtest/gtest.h>

#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/messages.h"
#include "common/msgpack/reader.h"
#include "support/vectors.h"

using namespace kc::gossip;
using kc::test::load_vectors;
using kc::test::Vector;

namespace {

std::shared_ptr<Keyring> ring_from_base64(const std::string& b64) {
  auto ring = std::make_shared<Keyring>();
  auto key = base64_decode(b64);
  EXPECT_TRUE(key.has_value());
  EXPECT_FALSE(ring->add_key(*key).has_value());
  return ring;
}

bool known_type(uint8_t t) {
  return t <= 13;
}

}  // namespace

TEST(Envelope, OpensEveryCapturedPlainDatagram) {
  Envelope env(true, nullptr);
  auto vectors = load_vectors("captured_udp.txt");
  ASSERT_GE(vectors.size(), 10u);
  for (auto& v : vectors) {
    std::string why;
    auto msg = env.open_packet(v.bytes("hex"), why);
    ASSERT_TRUE(msg) << v.name() << ": " << why;
    EXPECT_TRUE(known_type((*msg)[0])) << v.name();
    if ((*msg)[0] == static_cast<uint8_t>(MsgType::Compress) && v.has("inner")) {
      auto inner = decompress_message(std::span(*msg).subspan(1), 1 << 20);
      ASSERT_TRUE(inner) << v.name();
      EXPECT_EQ(*inner, v.bytes("inner")) << v.name();
    }
  }
}

TEST(Envelope, OpensCapturedStreams) {
  Envelope env(true, nullptr);
  for (auto& v : load_vectors("captured_tcp.txt")) {
    Bytes wire = v.bytes("hex");
    auto len = stream_message_length(wire);
    ASSERT_TRUE(len) << v.name();
    EXPECT_EQ(*len, wire.size()) << v.name();
    std::string why;
    auto msg = env.open_stream(wire, why);
    ASSERT_TRUE(msg) << v.name() << ": " << why;
    EXPECT_EQ(*msg, v.bytes("inner")) << v.name();
    // The decompressed push/pull is itself one complete stream message.
    EXPECT_EQ(stream_message_length(*msg), msg->size());
  }
}

TEST(Envelope, DecryptsCapturedEncryptedTraffic) {
  for (auto& v : load_vectors("captured_encrypted.txt")) {
    auto env = Envelope(true, ring_from_base64(v.text("key")));
    std::string why;
    Bytes wire = v.bytes("hex");
    bool stream = v.name().find("tcp") != std::string::npos;
    auto msg = stream ? env.open_stream(wire, why) : env.open_packet(wire, why);
    ASSERT_TRUE(msg) << v.name() << ": " << why;
    if (v.has("plain") && !stream) {
      // "plain" is the decrypted datagram; the pipeline also strips a CRC header.
      Bytes plain = v.bytes("plain");
      if (plain[0] == static_cast<uint8_t>(MsgType::HasCrc))
        plain.erase(plain.begin(), plain.begin() + 5);
      EXPECT_EQ(*msg, plain) << v.name();
    }
  }
}

TEST(Envelope, RoundTripsWithEncryptionAndCrc) {
  auto ring = std::make_shared<Keyring>();
  ASSERT_FALSE(ring->add_key(Bytes(32, 7)).has_value());
  Envelope env(true, ring);
  Bytes msg = encode(Ping{1, "x", {127, 0, 0, 1}, 1, "y"});
  std::string why;
  auto back = env.open_packet(env.seal_packet(msg, true), why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(*back, msg);
  auto stream_back = env.open_stream(env.seal_stream(msg), why);
  ASSERT_TRUE(stream_back) << why;
  EXPECT_EQ(*stream_back, msg);
}

TEST(Envelope, WrongKeyAndPlaintextAreRejected) {
  auto ring = std::make_shared<Keyring>();
  ASSERT_FALSE(ring->add_key(Bytes(16, 1)).has_value());
  auto other = std::make_shared<Keyring>();
  ASSERT_FALSE(other->add_key(Bytes(16, 2)).has_value());
  Bytes msg = encode(Nack{5});
  std::string why;
  EXPECT_FALSE(
      Envelope(true, other).open_packet(Envelope(true, ring).seal_packet(msg, false), why));
  EXPECT_FALSE(Envelope(true, ring).open_packet(msg, why));  // plaintext to an encrypted node
  EXPECT_FALSE(Envelope(true, ring).open_stream(msg, why));
  EXPECT_EQ(why, "Encryption is configured but remote state is not encrypted");
  EXPECT_FALSE(Envelope(true, nullptr).open_stream(Envelope(true, ring).seal_stream(msg), why));
}

TEST(Envelope, MalformedInputIsRejected) {
  Envelope env(true, nullptr);
  std::string why;
  EXPECT_FALSE(env.open_packet(Bytes{}, why));
  EXPECT_FALSE(env.open_packet(Bytes{0x0c, 1, 2, 3, 4, 0}, why));  // bad CRC
  EXPECT_FALSE(env.open_packet(Bytes{0x0c, 1}, why));              // short CRC header
  EXPECT_FALSE(env.open_stream(
      Bytes{0x09, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0, 0xa3, 'B', 'u', 'f', 0xa2, 1, 2}, why));
  EXPECT_THROW(stream_message_length(Bytes{0x42}), kc::mp::DecodeError);
  EXPECT_THROW(stream_message_length(Bytes{0x0a, 0xff, 0xff, 0xff, 0xff}), kc::mp::DecodeError);
  EXPECT_FALSE(stream_message_length(Bytes{0x0a, 0, 0, 0, 10, 1}));  // needs more
  // A push/pull header that claims a billion nodes.
  Bytes huge{6, 0x83, 0xa4, 'J', 'o', 'i', 'n', 0xc3, 0xa5, 'N', 'o', 'd', 'e', 's', 0xce, 0x40, 0,
             0, 0,    0xac, 'U', 's', 'e', 'r', 'S',  't',  'a', 't', 'e', 'L', 'e', 'n',  0};
  EXPECT_THROW(stream_message_length(huge), kc::mp::DecodeError);
}
