// The RPC bodies: Go's exact bytes for what the serf CLI sends (tests/vectors/rpc_transcript.txt),
// round trips, and the lenient-but-typed decoding rules.
#include "serf_client/protocol.h"

#include <gtest/gtest.h>

#include "support/vectors.h"

namespace kc::test {
namespace {

namespace proto = kc::serf_client::proto;
using kc::serf_client::Bytes;

template <typename T>
std::string encode_hex(const T& v) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write(w, v);
  return to_hex(b);
}

mp::Document doc(const std::string& hex) {
  return mp::Document::parse(from_hex(hex));
}

TEST(Protocol, EncodesWhatTheSerfCliSends) {
  // `serf members` handshake and members-filtered
  EXPECT_EQ(encode_hex(proto::RequestHeader{"handshake", 1}),
            "82a7436f6d6d616e64a968616e647368616b65a353657101");
  EXPECT_EQ(encode_hex(proto::HandshakeRequest{1}), "81a756657273696f6e01");
  EXPECT_EQ(encode_hex(proto::MembersFilteredRequest{{}, "", ""}),
            "83a44e616d65a0a6537461747573a0a45461677380");
  // `serf event deploy hello-world`: the payload is bin8 on the RPC
  proto::EventRequest ev{"deploy", Bytes{'h', 'e', 'l', 'l', 'o', '-', 'w', 'o', 'r', 'l', 'd'},
                         true};
  EXPECT_EQ(
      encode_hex(ev),
      "83a8436f616c65736365c3a44e616d65a66465706c6f79a75061796c6f6164c40b68656c6c6f2d776f726c64");
  EXPECT_EQ(encode_hex(proto::ResponseHeader{1, ""}), "82a54572726f72a0a353657101");
}

TEST(Protocol, QueryRequestMatchesTheTranscript) {
  proto::QueryRequest q;
  q.params.name = "q1";
  q.params.payload = {'q', 'p'};
  q.params.request_ack = true;
  q.params.timeout = std::chrono::nanoseconds(1500000000);
  q.payload_nil = false;
  EXPECT_EQ(encode_hex(q),
            "87ab46696c7465724e6f646573c0aa46696c74657254616773c0a44e616d65a27131a75061796c6f6164"
            "c4027170ab52656c6179466163746f7200aa5265717565737441636bc3a754696d656f7574ce59682f00");
  auto back = proto::read_query(doc(encode_hex(q)).root());
  EXPECT_EQ(back.params.name, "q1");
  EXPECT_FALSE(back.payload_nil);
  EXPECT_EQ(back.params.timeout.count(), 1500000000);
  proto::QueryRequest ping;
  ping.params.name = "_serf_ping";
  EXPECT_TRUE(proto::read_query(doc(encode_hex(ping)).root()).payload_nil);
}

TEST(Protocol, MemberRecordIsSortedAndBin) {
  kc::serf_client::MemberInfo m;
  m.name = "r";
  m.addr = {127, 0, 0, 1};
  m.port = 7949;
  m.tags = {{"role", "rpc"}};
  m.status = "alive";
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write_members(w, {m});
  EXPECT_EQ(to_hex(b),
            "81a74d656d62657273918ba441646472c4047f000001ab44656c656761746543757205ab44656c65676174"
            "654d617805ab44656c65676174654d696e02a44e616d65a172a4506f7274cd1f0dab50726f746f636f6c43"
            "757202ab50726f746f636f6c4d617805ab50726f746f636f6c4d696e01a6537461747573a5616c697665a4"
            "5461677381a4726f6c65a3727063");
  auto back = proto::read_members(mp::Document::parse(b).root());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].addr, m.addr);
  EXPECT_EQ(back[0].tags, m.tags);
  EXPECT_EQ(back[0].protocol_cur, 2);
  EXPECT_EQ(back[0].delegate_min, 2);
}

TEST(Protocol, KeyResponseAlwaysHasItsBody) {
  kc::serf_client::KeyResult r;
  r.messages = {{"a", "No keyring to modify (encryption not enabled)"}};
  r.num_nodes = 1;
  r.num_resp = 1;
  r.num_err = 1;
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write_key_response(w, r, false);
  EXPECT_EQ(to_hex(b).substr(0, 14), "85a44b657973c0");  // Keys: nil unless list-keys
  auto back = proto::read_key_response(mp::Document::parse(b).root());
  EXPECT_EQ(back.messages, r.messages);
  EXPECT_EQ(back.num_err, 1);
  r.keys = {{"k1", 2}};
  Bytes l;
  mp::Writer wl(l, mp::Dialect::Rpc);
  proto::write_key_response(wl, r, true);
  EXPECT_EQ(proto::read_key_response(mp::Document::parse(l).root()).keys, r.keys);
}

TEST(Protocol, DecodingIsLenientAboutForms) {
  // an unknown key first, Version as uint16
  EXPECT_EQ(proto::read_handshake(doc("82a3466f6fc0a756657273696f6ecd0001").root()).version, 1);
  // str8 and str16 strings
  EXPECT_EQ(proto::read_auth(doc("81a7417574684b6579d9026162").root()).auth_key, "ab");
  EXPECT_EQ(proto::read_auth(doc("81a7417574684b6579da00026162").root()).auth_key, "ab");
  // Existing as a list of str16, Replay as the fixint 1
  auto j = proto::read_join(doc("82a65265706c617901a84578697374696e6791da0003613a31").root());
  EXPECT_TRUE(j.replay);
  ASSERT_EQ(j.existing.size(), 1u);
  EXPECT_EQ(j.existing[0], "a:1");
  // Payload as a str (Go's []byte accepts both)
  EXPECT_EQ(proto::read_event(doc("81a75061796c6f6164a26869").root()).payload, (Bytes{'h', 'i'}));
}

TEST(Protocol, TypeErrorsThrow) {
  // AuthKey as bin: Go refuses bin for a string field
  EXPECT_THROW(proto::read_auth(doc("81a7417574684b6579c40161").root()), mp::DecodeError);
  // Version beyond int32
  EXPECT_THROW(proto::read_handshake(doc("81a756657273696f6ecf0000000100000000").root()),
               mp::DecodeError);
  // RelayFactor beyond uint8
  EXPECT_THROW(proto::read_query(doc("81ab52656c6179466163746f72cd0100").root()), mp::DecodeError);
  // a body that is not a map
  EXPECT_THROW(proto::read_join(doc("93010203").root()), mp::DecodeError);
  // Seq negative
  proto::RequestHeader hdr;
  EXPECT_THROW(proto::read_into(doc("81a3536571ff").root(), hdr), mp::DecodeError);
  // tag values must be strings
  EXPECT_THROW(proto::read_tags(doc("81a45461677381a16101").root()), mp::DecodeError);
}

TEST(Protocol, NilBodiesAreZeroValues) {
  auto j = proto::read_join(doc("c0").root());
  EXPECT_TRUE(j.existing.empty());
  EXPECT_FALSE(j.replay);
}

TEST(Protocol, HeaderFieldsPersistWhenAbsent) {
  proto::RequestHeader h{"members-filtered", 2};
  proto::read_into(doc("83a44e616d65a0a6537461747573a0a45461677380").root(), h);
  EXPECT_EQ(h.command, "members-filtered");
  EXPECT_EQ(h.seq, 2u);
  proto::read_into(doc("81a353657105").root(), h);
  EXPECT_EQ(h.seq, 5u);
  proto::read_into(doc("c0").root(), h);
  EXPECT_EQ(h.command, "");
  EXPECT_EQ(h.seq, 0u);
}

TEST(Protocol, CoordinateForUnknownNodeHasNilVec) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write_coordinate_response(w, std::nullopt);
  EXPECT_EQ(to_hex(b),
            "82a5436f6f726484aa41646a7573746d656e74cb0000000000000000a54572726f72cb0000000000000000"
            "a6486569676874cb0000000000000000a3566563c0a24f6bc2");
  EXPECT_FALSE(proto::read_coordinate_response(mp::Document::parse(b).root()));
}

}  // namespace
}  // namespace kc::test
