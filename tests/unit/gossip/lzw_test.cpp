// LZW must match Go's compress/lzw (LSB, 8) byte for byte: vectors from Go, the real
// compress messages captured between serf agents, and table-reset cases cross-checked
// against an independent encoder that matched Go 1.19 (docs/wire.md, "Test vectors and
// their provenance").
#include "agent/gossip/codec/lzw.h"

#include <gtest/gtest.h>

#include <random>

#include "agent/gossip/codec/crc.h"
#include "support/vectors.h"

namespace kc::gossip {
namespace {

using test::Bytes;
using test::from_hex;
using test::load_vectors;
using test::to_hex;
using test::vector_named;

constexpr size_t kLimit = 64 << 20;

// Buf of a memberlist compress message: 09 | map{Algo: 0, Buf: <str/bin>} (docs/wire.md,
// "Compression").
Bytes compress_buf(std::span<const uint8_t> msg) {
  EXPECT_GE(msg.size(), 2u);
  EXPECT_EQ(msg[0], 0x09);
  EXPECT_EQ(msg[1], 0x82);
  size_t pos = 2;
  auto need = [&](size_t n) {
    if (pos + n > msg.size()) throw std::runtime_error("short compress message");
  };
  for (int field = 0; field < 2; ++field) {
    need(1);
    const size_t key_len = msg[pos] & 0x1f;
    need(1 + key_len);
    const std::string key(msg.begin() + pos + 1, msg.begin() + pos + 1 + key_len);
    pos += 1 + key_len;
    need(1);
    if (key == "Algo") {
      EXPECT_EQ(msg[pos], 0x00);
      pos += 1;
      continue;
    }
    EXPECT_EQ(key, "Buf");
    const uint8_t tag = msg[pos++];
    size_t len = 0;
    size_t width = 0;
    if (tag >= 0xa0 && tag <= 0xbf) {
      len = tag & 0x1f;
    } else if (tag == 0xd9 || tag == 0xc4) {
      width = 1;
    } else if (tag == 0xda || tag == 0xc5) {
      width = 2;
    } else if (tag == 0xdb || tag == 0xc6) {
      width = 4;
    } else {
      throw std::runtime_error("unexpected Buf header");
    }
    need(width);
    for (size_t i = 0; i < width; ++i) len = len << 8 | msg[pos++];
    need(len);
    return Bytes(msg.begin() + pos, msg.begin() + pos + len);
  }
  throw std::runtime_error("no Buf");
}

// Same generator as the Python cross-check script: x = x*1103515245+12345 mod 2^32.
Bytes lcg_bytes(uint32_t seed, size_t n, uint32_t alphabet) {
  Bytes out(n);
  uint32_t x = seed;
  for (auto& b : out) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>((x >> 16) % alphabet);
  }
  return out;
}

// Packs 9-bit codes LSB-first (enough for hand-made streams that never widen).
Bytes pack9(const std::vector<uint32_t>& codes) {
  Bytes out;
  uint32_t bits = 0, nbits = 0;
  for (uint32_t c : codes) {
    bits |= c << nbits;
    nbits += 9;
    while (nbits >= 8) {
      out.push_back(static_cast<uint8_t>(bits));
      bits >>= 8;
      nbits -= 8;
    }
  }
  if (nbits) out.push_back(static_cast<uint8_t>(bits));
  return out;
}

void expect_round_trip(const Bytes& data) {
  auto packed = lzw_compress(data);
  auto back = lzw_decompress(packed, data.size());
  ASSERT_TRUE(back) << "size " << data.size();
  EXPECT_TRUE(*back == data) << "size " << data.size();
}

TEST(Lzw, GoVectorsByteForByte) {
  auto vectors = load_vectors("lzw.txt");
  ASSERT_EQ(vectors.size(), 4u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name());
    const Bytes input = v.bytes("input");
    EXPECT_EQ(to_hex(lzw_compress(input)), v.text("hex"));
    auto out = lzw_decompress(v.bytes("hex"), kLimit);
    ASSERT_TRUE(out);
    EXPECT_EQ(to_hex(*out), to_hex(input));
  }
}

TEST(Lzw, SpecExamples) {
  EXPECT_EQ(to_hex(lzw_compress({})), "000302");
  const Bytes a{'a'};
  EXPECT_EQ(to_hex(lzw_compress(a)), "00c30404");
}

TEST(Lzw, GeneratedCompressMessages) {
  const Bytes alive = vector_named("generated_memberlist.txt", "alive").bytes("hex");
  const Bytes alive_buf =
      compress_buf(vector_named("generated_memberlist.txt", "compress_alive").bytes("hex"));
  EXPECT_EQ(to_hex(lzw_compress(alive)), to_hex(alive_buf));
  EXPECT_EQ(lzw_decompress(alive_buf, kLimit), std::optional<Bytes>(alive));

  const Bytes big = vector_named("generated_memberlist.txt", "compress_big_input").bytes("hex");
  ASSERT_EQ(big.size(), 4800u);
  const Bytes big_buf =
      compress_buf(vector_named("generated_memberlist.txt", "compress_big").bytes("hex"));
  EXPECT_EQ(to_hex(lzw_compress(big)), to_hex(big_buf));
  EXPECT_EQ(lzw_decompress(big_buf, kLimit), std::optional<Bytes>(big));
}

// Every captured compress message: its Buf decompresses to `inner`, and compressing `inner`
// reproduces the Go agent's Buf exactly.
TEST(Lzw, CapturedCompressMessages) {
  int checked = 0;
  for (const char* file : {"captured_udp.txt", "captured_tcp.txt"}) {
    for (const auto& v : load_vectors(file)) {
      if (!v.has("inner")) continue;
      SCOPED_TRACE(v.name());
      Bytes msg = v.bytes("hex");
      if (msg[0] == 0x0c) {
        auto inner = unwrap_crc(msg);
        ASSERT_TRUE(inner);
        msg = Bytes(inner->begin(), inner->end());
      }
      const Bytes buf = compress_buf(msg);
      const Bytes inner = v.bytes("inner");
      auto out = lzw_decompress(buf, kLimit);
      ASSERT_TRUE(out);
      EXPECT_EQ(to_hex(*out), to_hex(inner));
      EXPECT_EQ(to_hex(lzw_compress(inner)), to_hex(buf));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(Lzw, CapturedEncryptedPlaintexts) {
  int checked = 0;
  for (const auto& v : load_vectors("captured_encrypted.txt")) {
    if (!v.has("plain") || v.bytes("plain")[0] != 0x09) continue;
    SCOPED_TRACE(v.name());
    const Bytes buf = compress_buf(v.bytes("plain"));
    auto out = lzw_decompress(buf, kLimit);
    ASSERT_TRUE(out);
    ASSERT_FALSE(out->empty());
    EXPECT_EQ(to_hex(lzw_compress(*out)), to_hex(buf));
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// Inputs long enough for several table resets (clear code at 4095), compared with the
// reference encoder's output length, CRC-32 and both ends.
TEST(Lzw, TableResetsMatchReference) {
  struct Case {
    uint32_t seed;
    size_t n;
    uint32_t alphabet;
    size_t out_len;
    uint32_t crc;
    const char* head;
    const char* tail;
  };
  const Case cases[] = {
      {1, 5000, 2, 885, 0x36303186, "000100084030c0408104111634a8d060", "c73ecff819410101"},
      {7, 100000, 4, 29852, 0x2d5772af, "00010810382080000101120e3868d0e0", "8a46c8c918920808"},
      {42, 300000, 256, 411001, 0xeda052c7, "0013252a550744913684c204a222c11d", "8027c05c82010101"},
      {3, 65536, 16, 41079, 0x54c715c6, "00070c6880c001810607103c6860a041", "208aae381e202000"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.seed);
    const Bytes data = lcg_bytes(c.seed, c.n, c.alphabet);
    const Bytes packed = lzw_compress(data);
    ASSERT_EQ(packed.size(), c.out_len);
    EXPECT_EQ(crc32_ieee(packed), c.crc);
    EXPECT_EQ(to_hex(Bytes(packed.begin(), packed.begin() + 16)), c.head);
    EXPECT_EQ(to_hex(Bytes(packed.end() - 8, packed.end())), c.tail);
    auto back = lzw_decompress(packed, data.size());
    ASSERT_TRUE(back);
    EXPECT_TRUE(*back == data);
  }
}

TEST(Lzw, RandomRoundTrips) {
  std::mt19937 rng(12345);
  for (size_t size : {0, 1, 2, 3, 255, 256, 4095, 4096, 8191, 65536, 150000, 300000}) {
    for (uint32_t alphabet : {1u, 2u, 7u, 64u, 256u}) {
      Bytes data(size);
      for (auto& b : data) b = static_cast<uint8_t>(rng() % alphabet);
      expect_round_trip(data);
    }
  }
  for (int i = 0; i < 200; ++i) {
    Bytes data(rng() % 3000);
    for (auto& b : data) b = static_cast<uint8_t>(rng() % (1 + rng() % 256));
    expect_round_trip(data);
  }
}

TEST(Lzw, TextLikeRoundTrip) {
  std::string text;
  for (int i = 0; text.size() < 300000; ++i)
    text += "node-" + std::to_string(i % 97) + " alive incarnation " + std::to_string(i) + "\n";
  expect_round_trip(Bytes(text.begin(), text.end()));
}

TEST(Lzw, AcceptsStreamWithoutLeadingClear) {
  auto out = lzw_decompress(pack9({'h', 'i', 257}), 16);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(out->begin(), out->end()), "hi");
}

TEST(Lzw, IgnoresBytesAfterEof) {
  Bytes packed = lzw_compress(Bytes{'x', 'y'});
  packed.insert(packed.end(), {0xde, 0xad, 0xbe, 0xef});
  EXPECT_EQ(lzw_decompress(packed, 16), std::optional<Bytes>(Bytes{'x', 'y'}));
}

TEST(Lzw, KwKwKCode) {
  // "aaa": 'a', then code 258 (== hi, not yet defined) stands for "aa".
  auto out = lzw_decompress(pack9({256, 'a', 258, 257}), 16);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(out->begin(), out->end()), "aaa");
  // Right after a clear there is no previous string, so 258 is beyond the table.
  EXPECT_FALSE(lzw_decompress(pack9({256, 'a', 256, 258, 257}), 16));
}

TEST(Lzw, RejectsMissingEof) {
  for (const auto& v : load_vectors("lzw.txt")) {
    const Bytes full = v.bytes("hex");
    for (size_t n = 0; n < full.size(); ++n)
      EXPECT_FALSE(lzw_decompress(std::span(full).first(n), kLimit)) << v.name() << " " << n;
  }
  const Bytes big = lzw_compress(lcg_bytes(9, 20000, 8));
  for (size_t n : {size_t{0}, size_t{1}, big.size() / 2, big.size() - 1})
    EXPECT_FALSE(lzw_decompress(std::span(big).first(n), kLimit));
}

TEST(Lzw, RejectsInvalidCode) {
  EXPECT_FALSE(lzw_decompress(pack9({256, 300, 257}), 16));
  EXPECT_FALSE(lzw_decompress(pack9({256, 'a', 259, 257}), 16));
  EXPECT_FALSE(lzw_decompress(pack9({511}), 16));
}

TEST(Lzw, OutputLimit) {
  const Bytes zeros(10000, 0);
  const Bytes packed = lzw_compress(zeros);
  EXPECT_FALSE(lzw_decompress(packed, 9999));
  EXPECT_EQ(lzw_decompress(packed, 10000), std::optional<Bytes>(zeros));
  EXPECT_FALSE(lzw_decompress(lzw_compress(Bytes{1}), 0));
  EXPECT_EQ(lzw_decompress(lzw_compress({}), 0), std::optional<Bytes>(Bytes{}));
}

TEST(Lzw, ZipBombStopsAtLimit) {
  const Bytes packed = lzw_compress(Bytes(16 << 20, 'z'));
  EXPECT_LT(packed.size(), 64u << 10);
  EXPECT_FALSE(lzw_decompress(packed, 65536));
}

TEST(Lzw, GarbageNeverCrashes) {
  std::mt19937 rng(777);
  for (int i = 0; i < 3000; ++i) {
    Bytes junk(rng() % 2048);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    auto out = lzw_decompress(junk, 1 << 20);
    if (out) {
      EXPECT_LE(out->size(), 1u << 20);
    }
  }
  // All ones: the first 9-bit code, 511, is beyond the table.
  Bytes ones(100000, 0xff);
  EXPECT_FALSE(lzw_decompress(ones, 1 << 20));
}

}  // namespace
}  // namespace kc::gossip
