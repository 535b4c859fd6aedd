// scan_object: finding object boundaries in the RPC byte stream, and refusing oversized or
// malformed objects before they are buffered.
#include "serf_client/frame.h"

#include <gtest/gtest.h>

#include "common/msgpack/writer.h"
#include "support/vectors.h"

namespace kc::test {
namespace {

using kc::serf_client::FrameScan;
using kc::serf_client::scan_object;
using Status = FrameScan::Status;

FrameScan scan(const std::string& hex, size_t max = 1 << 20) {
  return scan_object(from_hex(hex), max);
}

TEST(FrameScan, CompleteObjectsOfEveryType) {
  const char* const objects[] = {
      "00",
      "7f",
      "e0",
      "ff",
      "c0",
      "c2",
      "c3",  // fixint, nil, bools
      "cc01",
      "cd0102",
      "ce01020304",
      "cf0102030405060708",  // uints
      "d001",
      "d10102",
      "d201020304",
      "d30102030405060708",  // ints
      "ca01020304",
      "cb0102030405060708",  // floats
      "a161",
      "d90161",
      "da000161",
      "db0000000161",  // strings
      "c40161",
      "c5000161",
      "c600000001"
      "61",  // bins
      "d40101",
      "d5010102",
      "d60101020304",
      "d7010102030405060708",
      "d801"
      "0102030405060708090a0b0c0d0e0f10",  // fixexts
      "c7010161",
      "c800010161",
      "c90000000101"
      "61",  // exts
      "90",
      "9101",
      "dc000101",
      "dd0000000101",  // arrays
      "80",
      "81a16101",
      "de0001a16101",
      "df00000001a16101",                              // maps
      "82a7436f6d6d616e64a76d656d62657273a353657101",  // a request header
      "9191919101",                                    // nesting
  };
  for (const char* hex : objects) {
    Bytes b = from_hex(hex);
    auto s = scan_object(b, 1 << 20);
    EXPECT_EQ(s.status, Status::Complete) << hex;
    EXPECT_EQ(s.length, b.size()) << hex;
    // Every proper prefix is incomplete, never complete or invalid.
    for (size_t n = 0; n < b.size(); ++n) {
      auto p = scan_object(std::span<const uint8_t>(b.data(), n), 1 << 20);
      EXPECT_EQ(p.status, Status::Incomplete) << hex << " prefix " << n;
      EXPECT_GT(p.needed, n) << hex << " prefix " << n;
      EXPECT_LE(p.needed, b.size()) << hex << " prefix " << n;
    }
  }
}

TEST(FrameScan, StopsAtTheFirstObject) {
  auto s = scan(
      "a161"
      "a162");
  EXPECT_EQ(s.status, Status::Complete);
  EXPECT_EQ(s.length, 2u);
}

TEST(FrameScan, RejectsClaimsBeyondTheLimitBeforeTheData) {
  EXPECT_EQ(scan("db7fffffff", 4096).status, Status::TooLarge);    // str32 of 2 GiB
  EXPECT_EQ(scan("c6ffffffff", 4096).status, Status::TooLarge);    // bin32
  EXPECT_EQ(scan("ddffffffff", 4096).status, Status::TooLarge);    // array32 of 4G items
  EXPECT_EQ(scan("dfffffffff", 4096).status, Status::TooLarge);    // map32
  EXPECT_EQ(scan("91dd00010000", 4096).status, Status::TooLarge);  // nested claim
  EXPECT_EQ(scan("c9ffffffff01", 4096).status, Status::TooLarge);  // ext32
  EXPECT_EQ(scan("da0ffd", 4096).status, Status::Incomplete);      // 3 + 4093 fits
  EXPECT_EQ(scan("da0ffe", 4096).status, Status::TooLarge);        // one more does not
}

TEST(FrameScan, LowerBoundCountsPendingElements) {
  // An array of 1000 elements: at least 1003 bytes before anything can complete.
  auto s = scan("dc03e8");
  EXPECT_EQ(s.status, Status::Incomplete);
  EXPECT_EQ(s.needed, 1003u);
  auto m = scan("de0003a161");  // map of 3 entries, one key read: 5 more items pending
  EXPECT_EQ(m.status, Status::Incomplete);
  EXPECT_EQ(m.needed, 5u + 1 + 4);
}

TEST(FrameScan, RejectsTheNeverUsedByteAndDeepNesting) {
  EXPECT_EQ(scan("c1").status, Status::Invalid);
  EXPECT_EQ(scan("91c1").status, Status::Invalid);
  std::string deep(2 * 40, '9');
  for (size_t i = 1; i < deep.size(); i += 2) deep[i] = '1';  // 40 nested one-element arrays
  EXPECT_EQ(scan(deep + "00").status, Status::Invalid);
  std::string ok(2 * 32, '9');
  for (size_t i = 1; i < ok.size(); i += 2) ok[i] = '1';
  EXPECT_EQ(scan(ok + "00").status, Status::Complete);
}

TEST(FrameScan, ManyEmptyContainersAreCheap) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  w.array(100000);
  for (int i = 0; i < 100000; ++i) w.map(0);
  auto s = scan_object(b, 1 << 20);
  EXPECT_EQ(s.status, Status::Complete);
  EXPECT_EQ(s.length, b.size());
}

}  // namespace
}  // namespace kc::test
