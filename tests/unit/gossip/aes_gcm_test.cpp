// AES-GCM framing (docs/wire.md, "Encryption") against fixed-nonce vectors verified by Go's
// decryptPayload and real traffic from an encrypted serf agent.
#include "agent/gossip/crypto/aes_gcm.h"

#include <gtest/gtest.h>

#include <random>

#include "support/vectors.h"

namespace kc::gossip {
namespace {

using test::Bytes;
using test::load_vectors;
using test::to_hex;
using test::vector_named;

Keyring ring_of(std::initializer_list<Bytes> keys) {
  Keyring ring;
  for (const auto& k : keys) EXPECT_EQ(ring.add_key(k), std::nullopt);
  return ring;
}

GcmNonce nonce_of(const Bytes& b) {
  GcmNonce n{};
  EXPECT_EQ(b.size(), n.size());
  std::copy_n(b.begin(), std::min(b.size(), n.size()), n.begin());
  return n;
}

std::span<const uint8_t> header_of(const Bytes& frame) {
  return std::span(frame).first(5);
}
std::span<const uint8_t> blob_of(const Bytes& frame) {
  return std::span(frame).subspan(5);
}

TEST(AesGcm, Lengths) {
  EXPECT_EQ(encrypt_overhead(1), 29u);
  EXPECT_EQ(encrypt_overhead(0), 45u);
  EXPECT_EQ(encrypted_length(1, 59), 88u);
  EXPECT_EQ(encrypted_length(0, 59), 93u);
  EXPECT_EQ(encrypted_length(0, 64), 1u + 12 + 64 + 16 + 16);
  EXPECT_EQ(encrypted_length(1, 0), 29u);
  EXPECT_EQ(encrypted_length(0, 0), 45u);
}

TEST(AesGcm, FixedNonceVectorsByteForByte) {
  auto vectors = load_vectors("encryption.txt");
  ASSERT_EQ(vectors.size(), 8u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name());
    const Bytes key = v.bytes("key"), plain = v.bytes("plain"), expected = v.bytes("hex");
    const GcmNonce nonce = nonce_of(v.bytes("nonce"));
    const uint8_t vsn = v.name().ends_with("_v0") ? 0 : 1;
    const Keyring ring = ring_of({key});
    if (v.name().starts_with("tcp_")) {
      EXPECT_EQ(to_hex(encrypt_stream_frame(key, plain, vsn, nonce)), to_hex(expected));
      EXPECT_EQ(stream_frame_length(header_of(expected)), expected.size() - 5);
      auto out = decrypt_stream_frame(ring, header_of(expected), blob_of(expected));
      ASSERT_TRUE(out);
      EXPECT_EQ(to_hex(*out), to_hex(plain));
      // The same bytes without the frame fail: the header is authenticated.
      EXPECT_FALSE(decrypt_udp(ring, blob_of(expected)));
    } else {
      EXPECT_EQ(to_hex(encrypt_udp(key, plain, vsn, nonce)), to_hex(expected));
      EXPECT_EQ(to_hex(encrypt_payload(vsn, key, plain, {}, nonce)), to_hex(expected));
      auto out = decrypt_udp(ring, expected);
      ASSERT_TRUE(out);
      EXPECT_EQ(to_hex(*out), to_hex(plain));
    }
  }
}

TEST(AesGcm, CapturedTrafficDecrypts) {
  int checked = 0;
  for (const auto& v : load_vectors("captured_encrypted.txt")) {
    SCOPED_TRACE(v.name());
    auto key = base64_decode(v.text("key"));
    ASSERT_TRUE(key);
    const Keyring ring = ring_of({*key});
    const Bytes packet = v.bytes("hex");
    std::optional<Bytes> out;
    if (packet[0] == kEncryptMsgType) {
      ASSERT_EQ(stream_frame_length(header_of(packet)), packet.size() - 5);
      out = decrypt_stream_frame(ring, header_of(packet), blob_of(packet));
    } else {
      out = decrypt_udp(ring, packet);
    }
    ASSERT_TRUE(out);
    ASSERT_FALSE(out->empty());
    if (v.has("plain")) {
      EXPECT_EQ(to_hex(*out), v.text("plain"));
    }
    // Type byte of a memberlist message (ping, compound, compress, hasCrc, pushPull).
    EXPECT_TRUE(out->front() <= 0x0c) << int(out->front());
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(AesGcm, TriesEveryKeyInOrder) {
  const auto v = vector_named("encryption.txt", "udp_aes256_v1");
  const Keyring ring = ring_of({Bytes(16, 0xaa), Bytes(24, 0xbb), v.bytes("key")});
  auto out = decrypt_udp(ring, v.bytes("hex"));
  ASSERT_TRUE(out);
  EXPECT_EQ(to_hex(*out), v.text("plain"));
}

TEST(AesGcm, WrongKeyOrEmptyRingFails) {
  const auto v = vector_named("encryption.txt", "udp_aes128_v1");
  EXPECT_FALSE(decrypt_udp(ring_of({Bytes(16, 0)}), v.bytes("hex")));
  EXPECT_FALSE(decrypt_udp(ring_of({Bytes(32, 1), Bytes(24, 2)}), v.bytes("hex")));
  EXPECT_FALSE(decrypt_udp(Keyring{}, v.bytes("hex")));
  const auto t = vector_named("encryption.txt", "tcp_aes128_v1");
  const Bytes frame = t.bytes("hex");
  EXPECT_FALSE(decrypt_stream_frame(ring_of({Bytes(16, 0)}), header_of(frame), blob_of(frame)));
}

TEST(AesGcm, AnyFlippedBitFails) {
  const auto v = vector_named("encryption.txt", "udp_aes128_v1");
  const Keyring ring = ring_of({v.bytes("key")});
  const Bytes good = v.bytes("hex");
  // Byte 0 (the version) is not authenticated by memberlist; the rest is.
  for (size_t i = 1; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x80;
    EXPECT_FALSE(decrypt_udp(ring, bad)) << i;
  }
  const Bytes frame = vector_named("encryption.txt", "tcp_aes128_v1").bytes("hex");
  Bytes header(frame.begin(), frame.begin() + 5);
  header[0] = 0x0b;
  EXPECT_FALSE(decrypt_stream_frame(ring, header, blob_of(frame)));
}

TEST(AesGcm, TruncatedAndShortInputsFail) {
  const auto v = vector_named("encryption.txt", "udp_aes128_v1");
  const Keyring ring = ring_of({v.bytes("key")});
  const Bytes good = v.bytes("hex");
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decrypt_udp(ring, std::span(good).first(n))) << n;
  const Bytes v0 = vector_named("encryption.txt", "udp_aes128_v0").bytes("hex");
  for (size_t n = 0; n < v0.size(); ++n)
    EXPECT_FALSE(decrypt_udp(ring, std::span(v0).first(n))) << n;
  EXPECT_FALSE(decrypt_udp(ring, Bytes(28, 1)));
  EXPECT_FALSE(decrypt_udp(ring, Bytes(44, 0)));

  const Bytes frame = vector_named("encryption.txt", "tcp_aes128_v1").bytes("hex");
  for (size_t n = 0; n < 5; ++n) EXPECT_FALSE(stream_frame_length(std::span(frame).first(n))) << n;
  for (size_t n = 0; n < frame.size() - 5; ++n)
    EXPECT_FALSE(decrypt_stream_frame(ring, header_of(frame), blob_of(frame).first(n))) << n;
  EXPECT_FALSE(decrypt_stream_frame(ring, std::span(frame).first(4), blob_of(frame)));
}

TEST(AesGcm, UnsupportedVersionFails) {
  const auto v = vector_named("encryption.txt", "udp_aes128_v1");
  const Keyring ring = ring_of({v.bytes("key")});
  Bytes bad = v.bytes("hex");
  for (uint8_t vsn : {2, 3, 0x7f, 0xff}) {
    bad[0] = vsn;
    EXPECT_FALSE(decrypt_udp(ring, bad));
  }
}

TEST(AesGcm, EmptyPlaintexts) {
  const Bytes key(32, 5);
  const Keyring ring = ring_of({key});
  for (uint8_t vsn : {0, 1}) {
    const Bytes blob = encrypt_udp(key, {}, vsn);
    EXPECT_EQ(blob.size(), encrypt_overhead(vsn));
    auto out = decrypt_udp(ring, blob);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->empty());
  }
}

// The version byte is outside the authenticated data, so a v1 blob relabelled v0 decrypts
// and its last byte is read as padding (what Go does too); an oversized pad must be
// rejected, not read out of bounds.
TEST(AesGcm, PaddingLargerThanPlaintextIsDropped) {
  const Bytes key(16, 9);
  const Keyring ring = ring_of({key});
  Bytes blob = encrypt_udp(key, Bytes(16, 0xff), 1);
  ASSERT_EQ(blob.size(), 45u);
  blob[0] = 0;
  EXPECT_FALSE(decrypt_udp(ring, blob));

  blob = encrypt_udp(key, Bytes(16, 0x10), 1);
  blob[0] = 0;
  auto out = decrypt_udp(ring, blob);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
}

TEST(AesGcm, RandomNonceRoundTrips) {
  std::mt19937 rng(99);
  for (size_t key_size : {16, 24, 32}) {
    Bytes key(key_size);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    const Keyring ring = ring_of({key});
    for (size_t size : {0, 1, 15, 16, 17, 1400, 65536}) {
      Bytes plain(size);
      for (auto& b : plain) b = static_cast<uint8_t>(rng());
      for (uint8_t vsn : {0, 1}) {
        const Bytes a = encrypt_udp(key, plain, vsn), b = encrypt_udp(key, plain, vsn);
        EXPECT_EQ(a.size(), encrypted_length(vsn, size));
        EXPECT_NE(a, b);  // fresh nonce each time
        EXPECT_EQ(decrypt_udp(ring, a), std::optional<Bytes>(plain));
        const Bytes frame = encrypt_stream_frame(key, plain, vsn);
        EXPECT_EQ(frame[0], kEncryptMsgType);
        EXPECT_EQ(stream_frame_length(header_of(frame)), encrypted_length(vsn, size));
        EXPECT_EQ(decrypt_stream_frame(ring, header_of(frame), blob_of(frame)),
                  std::optional<Bytes>(plain));
      }
    }
  }
}

TEST(AesGcm, KeyringOverloadsUsePrimary) {
  const Bytes primary(32, 1), other(16, 2);
  const Keyring ring = ring_of({primary, other});
  const Bytes plain{0x00, 0x81, 0xa1, 0x41, 0x01};
  const Bytes blob = encrypt_udp(ring, plain);
  EXPECT_EQ(blob[0], 1);
  EXPECT_EQ(decrypt_udp(ring_of({primary}), blob), std::optional<Bytes>(plain));
  EXPECT_FALSE(decrypt_udp(ring_of({other}), blob));
  const Bytes frame = encrypt_stream_frame(ring, plain);
  EXPECT_EQ(decrypt_stream_frame(ring_of({primary}), header_of(frame), blob_of(frame)),
            std::optional<Bytes>(plain));
  EXPECT_THROW(encrypt_udp(Keyring{}, plain), std::invalid_argument);
}

TEST(AesGcm, LargeStreamFrames) {
  const Bytes key(32, 7);
  const Keyring ring = ring_of({key});
  const Bytes plain(4 << 20, 0x42);
  const Bytes frame = encrypt_stream_frame(key, plain);
  EXPECT_EQ(decrypt_stream_frame(ring, header_of(frame), blob_of(frame)),
            std::optional<Bytes>(plain));
  const Bytes too_big{0x0a, 0x01, 0x40, 0x00, 0x01};  // 20 MiB + 1
  EXPECT_FALSE(stream_frame_length(too_big));
  const Bytes at_limit{0x0a, 0x01, 0x40, 0x00, 0x00};
  EXPECT_EQ(stream_frame_length(at_limit), kMaxStreamFrameBytes);
  EXPECT_FALSE(decrypt_stream_frame(ring, too_big, blob_of(frame)));
}

TEST(AesGcm, GarbageNeverCrashes) {
  std::mt19937 rng(4242);
  const Keyring ring = ring_of({Bytes(16, 1), Bytes(24, 2), Bytes(32, 3)});
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (!junk.empty() && i % 2) junk[0] = static_cast<uint8_t>(rng() % 2);
    EXPECT_FALSE(decrypt_udp(ring, junk));
    if (junk.size() >= 5) {
      EXPECT_FALSE(
          decrypt_stream_frame(ring, std::span(junk).first(5), std::span(junk).subspan(5)));
    }
  }
}

TEST(AesGcm, InvalidArgumentsThrow) {
  EXPECT_THROW(encrypt_udp(Bytes(15, 0), Bytes{1}), std::invalid_argument);
  EXPECT_THROW(encrypt_udp(Bytes{}, Bytes{1}), std::invalid_argument);
  EXPECT_THROW(encrypt_udp(Bytes(16, 0), Bytes{1}, 2), std::invalid_argument);
}

}  // namespace
}  // namespace kc::gossip
