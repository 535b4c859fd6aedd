// mp::Parser: many objects decoded one after another into one reused zone, strings and
// binaries left in the input, with the same limits and errors as Document::parse.
#include <gtest/gtest.h>

#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"

using kc::mp::Bytes;
using kc::mp::DecodeError;
using kc::mp::NeedMoreData;
using kc::mp::Parser;
using kc::mp::Writer;

namespace {

Bytes two_maps() {
  Bytes out;
  Writer(out).map(2).key("Name").str("node-1").key("Addr").bytes(Bytes{10, 0, 0, 1});
  Writer(out).map(1).key("Name").str("node-2");
  return out;
}

}  // namespace

TEST(MsgpackParser, DecodesObjectsOneAfterAnotherLeavingStringsInTheInput) {
  Bytes data = two_maps();
  Parser parser;
  size_t off = 0;
  auto first = parser.parse(data, off);
  EXPECT_EQ(first.get("Name").string(), "node-1");
  auto name = first.get("Name").string_view();
  // In place: the view points into `data`, not into a copy.
  EXPECT_GE(reinterpret_cast<const uint8_t*>(name.data()), data.data());
  EXPECT_LT(reinterpret_cast<const uint8_t*>(name.data()), data.data() + data.size());
  auto addr = first.get("Addr").byte_view();
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(Bytes(addr->begin(), addr->end()), (Bytes{10, 0, 0, 1}));

  auto second = parser.parse(data, off);
  EXPECT_EQ(second.get("Name").string(), "node-2");
  EXPECT_EQ(off, data.size());
  // A view of the first object's string outlives the next parse: it is in the input.
  EXPECT_EQ(name, "node-1");
  EXPECT_THROW(parser.parse(data, off), NeedMoreData);
}

TEST(MsgpackParser, ByteViewIsNulloptOnlyForAnArrayOfIntegers) {
  Bytes data;
  Writer(data).map(3).key("A").nil().key("B").str("xy").key("C").array(2).uint(7).uint(8);
  Parser parser;
  auto v = parser.parse(data);
  ASSERT_TRUE(v.get("A").byte_view().has_value());
  EXPECT_TRUE(v.get("A").byte_view()->empty());
  EXPECT_EQ(v.get("B").byte_view()->size(), 2u);
  EXPECT_FALSE(v.get("C").byte_view().has_value());
  EXPECT_EQ(v.get("C").bytes(), (Bytes{7, 8}));  // what bytes() decodes instead
}

TEST(MsgpackParser, MalformedAndTruncatedInputAreErrorsAndTheParserGoesOn) {
  Parser parser;
  Bytes truncated = two_maps();
  truncated.resize(5);
  EXPECT_THROW(parser.parse(truncated), NeedMoreData);
  Bytes huge_array = {0xdd, 0xff, 0xff, 0xff, 0xff};  // claims 4 G elements: over the limits
  EXPECT_THROW(parser.parse(huge_array), DecodeError);
  Bytes reserved = {0xc1};  // never used by msgpack
  EXPECT_THROW(parser.parse(reserved), DecodeError);
  EXPECT_THROW(parser.parse(Bytes{}), NeedMoreData);
  // An object larger than the zone's first chunk, then a small one again.
  Bytes big;
  Writer w(big);
  w.array(500);
  for (int i = 0; i < 500; ++i) w.str("element");
  EXPECT_EQ(parser.parse(big).items().size(), 500u);
  Bytes data = two_maps();
  EXPECT_EQ(parser.parse(data).get("Name").string(), "node-1");
}
