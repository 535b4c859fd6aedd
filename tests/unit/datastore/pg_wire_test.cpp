// The protocol's framing: what the encoders write, and the decoder on split, merged and
// hostile input.
#include "datastore/pg_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace kc::datastore::wire {
namespace {

using namespace std::string_literals;

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

std::string frame(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}

std::vector<Message> decode_all(Decoder& d) {
  std::vector<Message> out;
  while (auto m = d.next()) out.push_back(std::move(*m));
  return out;
}

TEST(PgWire, StartupMessageLayout) {
  std::string out;
  startup_message(out, {{"user", "kong"}, {"database", "db"}});
  std::string body = be32(3 << 16) + "user\0kong\0database\0db\0\0"s;
  EXPECT_EQ(out, be32(static_cast<uint32_t>(body.size() + 4)) + body);
}

TEST(PgWire, SslRequestIsTheMagicCode) {
  std::string out;
  ssl_request(out);
  EXPECT_EQ(out, be32(8) + be32(80877103));
}

TEST(PgWire, ExtendedQueryMessages) {
  std::string out;
  parse(out, "SELECT $1");
  EXPECT_EQ(out, frame('P', "\0SELECT $1\0\0\0"s));
  out.clear();
  bind(out, {std::string("ab"), std::nullopt, std::string()});
  EXPECT_EQ(out, frame('B', "\0\0"s + "\0\0"s + "\0\3"s + be32(2) + "ab" + be32(0xffffffff) +
                                be32(0) + "\0\0"s));
  out.clear();
  describe_portal(out);
  execute(out);
  sync(out);
  terminate(out);
  EXPECT_EQ(out,
            frame('D', "P\0"s) + frame('E', "\0"s + be32(0)) + frame('S', "") + frame('X', ""));
}

TEST(PgWire, SaslMessages) {
  std::string out;
  sasl_initial_response(out, "SCRAM-SHA-256", "n,,n=,r=abc");
  EXPECT_EQ(out, frame('p', "SCRAM-SHA-256\0"s + be32(11) + "n,,n=,r=abc"));
  out.clear();
  sasl_response(out, "c=biws");
  password_message(out, "pw");
  EXPECT_EQ(out, frame('p', "c=biws") + frame('p', "pw\0"s));
}

TEST(PgWire, NulInACStringIsRefused) {
  std::string out;
  EXPECT_THROW(parse(out, "SELECT 1\0; DROP"s), std::invalid_argument);
  // In a Bind value a NUL is just a byte.
  out.clear();
  EXPECT_NO_THROW(bind(out, {"a\0b"s}));
}

TEST(PgWire, DecoderRoundTripsByteByByteAndMerged) {
  std::string stream =
      frame('R', be32(0)) + frame('S', "a\0b\0"s) + frame('Z', "I") + frame('n', "");
  Decoder whole;
  whole.feed(stream);
  auto all = decode_all(whole);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].type, 'S');
  EXPECT_EQ(all[1].body, "a\0b\0"s);
  EXPECT_EQ(all[3].body, "");

  Decoder split;
  std::vector<Message> pieces;
  for (char c : stream) {
    split.feed(std::string_view(&c, 1));
    for (auto& m : decode_all(split)) pieces.push_back(m);
  }
  ASSERT_EQ(pieces.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(pieces[i].type, all[i].type);
    EXPECT_EQ(pieces[i].body, all[i].body);
  }
}

TEST(PgWire, DecoderRefusesBadLengths) {
  Decoder d;
  d.feed("Z"s + be32(3));
  EXPECT_THROW(d.next(), ProtocolError);

  Decoder small(100);
  small.feed("D"s + be32(105));  // refused from the header alone, before the body arrives
  try {
    small.next();
    FAIL() << "an oversized message was accepted";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the limit of 100"), std::string::npos)
        << e.what();
  }
  Decoder huge;
  huge.feed("D"s + be32(0xffffffff));
  EXPECT_THROW(huge.next(), ProtocolError);
}

TEST(PgWire, ReaderStopsAtTheEnd) {
  std::string body = "ab\0"s + be32(7) + "\1\2"s;
  Reader r('X', body);
  EXPECT_EQ(r.cstring(), "ab");
  EXPECT_EQ(r.int32(), 7);
  EXPECT_THROW(r.expect_end(), ProtocolError);
  EXPECT_EQ(r.int16(), 0x0102);
  EXPECT_TRUE(r.at_end());
  EXPECT_THROW(r.byte(), ProtocolError);
  Reader unterminated('X', "abc");
  EXPECT_THROW(unterminated.cstring(), ProtocolError);
  Reader short_int('X', "\1\2\3");
  EXPECT_THROW(short_int.int32(), ProtocolError);
}

TEST(PgWire, TypeNamesArePrintable) {
  EXPECT_EQ(type_name('Z'), "'Z'");
  EXPECT_EQ(type_name('\x07'), "0x07");
  EXPECT_EQ(type_name('\xff'), "0xff");
}

}  // namespace
}  // namespace kc::datastore::wire
