// Every memberlist message encodes byte for byte as Go's encoder (vectors produced by the real
// memberlist 0.2.2), and decodes back to the same fields.
#include "agent/gossip/messages.h"

#include <gtest/gtest.h>

#include "agent/gossip/compound.h"
#include "agent/gossip/envelope.h"
#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"
#include "support/vectors.h"

using namespace kc::gossip;
using kc::test::vector_named;

namespace {

Bytes ip(std::initializer_list<uint8_t> b) {
  return Bytes(b);
}
const Bytes kLocal = ip({127, 0, 0, 1});
const Bytes kVsn = ip({1, 5, 2, 2, 5, 5});

Bytes vec(const std::string& name) {
  return vector_named("generated_memberlist.txt", name).bytes("hex");
}

template <typename T>
T decode_typed(const Bytes& msg, T (*decoder)(const kc::mp::Value&)) {
  return decoder(kc::mp::Document::parse(std::span(msg).subspan(1)).root());
}

}  // namespace

TEST(Messages, PingMatchesGo) {
  Ping p{7, "b", kLocal, 7946, "a"};
  EXPECT_EQ(encode(p), vec("ping"));
  auto back = decode_typed(vec("ping"), decode_ping);
  EXPECT_EQ(back.seq_no, 7u);
  EXPECT_EQ(back.node, "b");
  EXPECT_EQ(back.source_addr, kLocal);
  EXPECT_EQ(back.source_port, 7946);
  EXPECT_EQ(back.source_node, "a");
}

TEST(Messages, PingOmitsEmptySource) {
  EXPECT_EQ(encode(Ping{7, "b", {}, 0, {}}), vec("ping_no_source"));
}

TEST(Messages, IndirectPingMatchesGo) {
  IndirectPing p{9, kLocal, 7947, "b", true, kLocal, 7946, "a"};
  EXPECT_EQ(encode(p), vec("indirect_ping"));
  auto back = decode_typed(vec("indirect_ping"), decode_indirect_ping);
  EXPECT_TRUE(back.nack);
  EXPECT_EQ(back.port, 7947);
  EXPECT_EQ(back.target, kLocal);
}

TEST(Messages, AckNackMatchGo) {
  EXPECT_EQ(encode(Ack{7, {}}), vec("ack_empty"));
  EXPECT_EQ(encode(Ack{7, ip({1, 2, 3})}), vec("ack_payload"));
  EXPECT_EQ(encode(Nack{9}), vec("nack"));
  EXPECT_EQ(decode_typed(vec("ack_payload"), decode_ack).payload, ip({1, 2, 3}));
}

TEST(Messages, SuspectAliveDeadMatchGo) {
  EXPECT_EQ(encode(Suspect{3, "b", "a"}), vec("suspect"));
  EXPECT_EQ(encode(Alive{1, "a", kLocal, 7946, ip({0xff, 0x80}), kVsn}), vec("alive"));
  std::string long_name = "node-with-a-rather-long-name-xyz";
  ASSERT_EQ(long_name.size(), 32u);
  EXPECT_EQ(encode(Alive{70000, long_name, kLocal, 65535, {}, ip({1, 5, 2, 2, 5, 4})}),
            vec("alive_big_inc"));
  EXPECT_EQ(encode(Dead{3, "b", "b"}), vec("dead_left"));
  auto a = decode_typed(vec("alive_big_inc"), decode_alive);
  EXPECT_EQ(a.incarnation, 70000u);
  EXPECT_EQ(a.node, long_name);
  EXPECT_TRUE(a.meta.empty());
}

TEST(Messages, ErrAndPushPullPiecesMatchGo) {
  EXPECT_EQ(encode(ErrResp{"boom"}), vec("err"));
  Bytes header{6};
  encode_body(header, PushPullHeader{1, 0, true});
  EXPECT_EQ(header, vec("push_pull_header"));
  Bytes state;
  encode_body(state, PushNodeState{"a", kLocal, 7946, ip({0xff, 0x80}), 1, NodeState::Alive, kVsn});
  EXPECT_EQ(state, vec("push_node_state"));
  Bytes user;
  encode_body(user, UserMsgHeader{300});
  EXPECT_EQ(user, vec("user_msg_header"));
}

TEST(Messages, CompoundMatchesGo) {
  Bytes compound = make_compound({vec("ping"), vec("alive")});
  EXPECT_EQ(compound, vec("compound"));
  auto parts = split_compound(std::span(compound).subspan(1));
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->parts.size(), 2u);
  EXPECT_FALSE(parts->truncated);
  EXPECT_EQ(Bytes(parts->parts[1].begin(), parts->parts[1].end()), vec("alive"));
}

TEST(Messages, CompoundTruncationKeepsCompleteParts) {
  Bytes compound = make_compound({vec("ping"), vec("alive")});
  compound.resize(compound.size() - 10);
  auto parts = split_compound(std::span(compound).subspan(1));
  ASSERT_TRUE(parts);
  EXPECT_TRUE(parts->truncated);
  EXPECT_EQ(parts->parts.size(), 1u);
  EXPECT_FALSE(split_compound(std::span(compound).subspan(1, 2)));  // header cut
}

TEST(Messages, CompressMatchesGo) {
  EXPECT_EQ(compress_message(vec("alive")), vec("compress_alive"));
  auto big = vector_named("generated_memberlist.txt", "compress_big_input");
  Bytes input = big.has("input") ? big.bytes("input") : big.bytes("hex");
  EXPECT_EQ(compress_message(input), vec("compress_big"));
  Bytes big_msg = vec("compress_big");
  auto back = decompress_message(std::span(big_msg).subspan(1), 1 << 20);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, input);
}

TEST(Messages, LenientDecoding) {
  // Keys in another order, an unknown key, str8 and bin where Go accepts them.
  Bytes body = {0x84, 0xa7, 'U', 'n',  'k',  'n', 'o',  'w', 'n', 0x93, 1,   2,    3,
                0xa5, 'S',  'e', 'q',  'N',  'o', 0xce, 0,   0,   0,    9,   0xa4, 'N',
                'o',  'd',  'e', 0xd9, 1,    'x', 0xaa, 'S', 'o', 'u',  'r', 'c',  'e',
                'A',  'd',  'd', 'r',  0xc4, 4,   10,   0,   0,   1};
  auto p = decode_ping(kc::mp::Document::parse(body).root());
  EXPECT_EQ(p.seq_no, 9u);
  EXPECT_EQ(p.node, "x");
  EXPECT_EQ(p.source_addr, ip({10, 0, 0, 1}));
}

TEST(Messages, MistypedFieldsAreErrors) {
  // bin in a string field (Go: decode error), negative into unsigned, overflow of uint16.
  Bytes bin_name = {0x81, 0xa4, 'N', 'o', 'd', 'e', 0xc4, 1, 'x'};
  EXPECT_THROW(decode_ping(kc::mp::Document::parse(bin_name).root()), kc::mp::DecodeError);
  Bytes negative = {0x81, 0xa5, 'S', 'e', 'q', 'N', 'o', 0xff};
  EXPECT_THROW(decode_ping(kc::mp::Document::parse(negative).root()), kc::mp::DecodeError);
  Bytes big_port = {0x81, 0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'P', 'o', 'r', 't', 0xce, 0, 1, 0, 0};
  EXPECT_THROW(decode_ping(kc::mp::Document::parse(big_port).root()), kc::mp::DecodeError);
  Bytes not_a_map = {0x93, 1, 2, 3};
  EXPECT_THROW(decode_ping(kc::mp::Document::parse(not_a_map).root()), kc::mp::DecodeError);
  Bytes huge_array = {0xdd, 0xff, 0xff, 0xff, 0xff};
  EXPECT_THROW(kc::mp::Document::parse(huge_array), kc::mp::DecodeError);
}

TEST(Messages, ViewsDecodeAndEncodeAsTheOwningStructs) {
  Alive alive{7, "node-a", kLocal, 7946, ip({1, 2}), kVsn};
  Bytes encoded = encode(alive);
  EXPECT_EQ(encode(view_of(alive)), encoded);
  kc::mp::Parser parser;
  ByteSpill spill;
  auto view = decode_alive_view(parser.parse(std::span(encoded).subspan(1)), spill);
  EXPECT_TRUE(spill.empty());  // every field in place
  EXPECT_EQ(view.node, "node-a");
  EXPECT_EQ(Bytes(view.addr.begin(), view.addr.end()), kLocal);
  EXPECT_EQ(Bytes(view.vsn.begin(), view.vsn.end()), kVsn);
  EXPECT_EQ(encode(view), encoded);

  PushNodeState node{"node-b", kLocal, 7946, {}, 3, NodeState::Suspect, kVsn};
  Bytes body;
  encode_body(body, node);
  Bytes from_view;
  encode_body(from_view, view_of(node));
  EXPECT_EQ(from_view, body);
  auto node_view = decode_push_node_state_view(parser.parse(body), spill);
  EXPECT_EQ(node_view.name, "node-b");
  EXPECT_EQ(node_view.state, NodeState::Suspect);
  EXPECT_EQ(node_view.incarnation, 3u);
  EXPECT_TRUE(node_view.meta.empty());
}

TEST(Messages, AViewOfAByteFieldSentAsAnArrayOfIntegersIsKeptInTheSpill) {
  // Addr as an array of four small integers (accepted leniently), Node as a string.
  Bytes body;
  kc::mp::Writer w(body);
  w.map(3).key("Addr").array(4).uint(10).uint(0).uint(0).uint(2);
  w.key("Node").str("node-c").key("Port").uint(7946);
  kc::mp::Parser parser;
  ByteSpill spill;
  auto view = decode_alive_view(parser.parse(body), spill);
  ASSERT_EQ(spill.size(), 1u);
  EXPECT_EQ(Bytes(view.addr.begin(), view.addr.end()), ip({10, 0, 0, 2}));
  EXPECT_EQ(decode_alive(parser.parse(body)).addr, ip({10, 0, 0, 2}));
  // A three-byte address is refused in either form.
  Bytes bad;
  kc::mp::Writer(bad).map(1).key("Addr").array(3).uint(1).uint(2).uint(3);
  EXPECT_THROW(decode_alive_view(parser.parse(bad), spill), BadAddressError);
}
