// Every serf message type against the vectors produced by the real serf 0.9.4 encoder
// (tests/vectors/generated_serf.txt) and the captured agent traffic (captured_udp.txt).
#include "agent/serf/messages.h"

#include <gtest/gtest.h>

#include "agent/serf/coordinate/coordinate.h"
#include "agent/serf/tags.h"
#include "common/msgpack/reader.h"
#include "support/vectors.h"

namespace kc::serf {
namespace {

using kc::test::to_hex;
using kc::test::vector_named;

Bytes vec(const std::string& name) {
  return vector_named("generated_serf.txt", name).bytes("hex");
}
std::span<const uint8_t> body(const Bytes& b) {
  return std::span<const uint8_t>(b).subspan(1);
}
Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

TEST(SerfMessages, Join) {
  auto v = vec("serf_join");
  EXPECT_EQ(to_hex(encode(MessageJoin{5, "a"})), to_hex(v));
  auto m = decode_join(body(v));
  EXPECT_EQ(m.ltime, 5u);
  EXPECT_EQ(m.node, "a");
}

TEST(SerfMessages, Leave) {
  auto v = vec("serf_leave");
  EXPECT_EQ(to_hex(encode(MessageLeave{6, "a", false})), to_hex(v));
  auto p = vec("serf_leave_prune");
  EXPECT_EQ(to_hex(encode(MessageLeave{7, "b", true})), to_hex(p));
  auto m = decode_leave(body(p));
  EXPECT_EQ(m.ltime, 7u);
  EXPECT_EQ(m.node, "b");
  EXPECT_TRUE(m.prune);
}

TEST(SerfMessages, UserEvent) {
  auto v = vec("serf_user_event");
  EXPECT_EQ(to_hex(encode(MessageUserEvent{3, "deploy", str("v1"), true})), to_hex(v));
  auto m = decode_user_event(body(v));
  EXPECT_EQ(m.ltime, 3u);
  EXPECT_EQ(m.name, "deploy");
  EXPECT_EQ(m.payload, str("v1"));
  EXPECT_TRUE(m.cc);
  auto n = vec("serf_user_event_nil_payload");
  EXPECT_EQ(to_hex(encode(MessageUserEvent{3, "deploy", {}, false})), to_hex(n));
  EXPECT_TRUE(decode_user_event(body(n)).payload.empty());
}

TEST(SerfMessages, Filters) {
  EXPECT_EQ(to_hex(encode_node_filter({"a", "b"})), to_hex(vec("serf_filter_nodes")));
  EXPECT_EQ(to_hex(encode_tag_filter({"role", "^web$"})), to_hex(vec("serf_filter_tag")));
  auto nodes = decode_node_filter(body(vec("serf_filter_nodes")));
  EXPECT_EQ(nodes, (std::vector<std::string>{"a", "b"}));
  auto tag = decode_tag_filter(body(vec("serf_filter_tag")));
  EXPECT_EQ(tag.tag, "role");
  EXPECT_EQ(tag.expr, "^web$");
}

MessageQuery whoami() {
  MessageQuery q;
  q.ltime = 4;
  q.id = 0x01020304;
  q.addr = {127, 0, 0, 1};
  q.port = 7946;
  q.source_node = "a";
  q.filters = {encode_node_filter({"a", "b"}), encode_tag_filter({"role", "^web$"})};
  q.flags = kQueryFlagAck;
  q.timeout = std::chrono::milliseconds(3200);
  q.name = "whoami";
  q.payload = str("hi");
  return q;
}

TEST(SerfMessages, Query) {
  auto v = vec("serf_query");
  EXPECT_EQ(to_hex(encode(whoami())), to_hex(v));
  auto m = decode_query(body(v));
  EXPECT_EQ(m.ltime, 4u);
  EXPECT_EQ(m.id, 0x01020304u);
  EXPECT_EQ(m.addr, (Bytes{127, 0, 0, 1}));
  EXPECT_EQ(m.port, 7946);
  EXPECT_EQ(m.source_node, "a");
  ASSERT_EQ(m.filters.size(), 2u);
  EXPECT_EQ(m.filters[0], vec("serf_filter_nodes"));
  EXPECT_EQ(m.filters[1], vec("serf_filter_tag"));
  EXPECT_TRUE(m.ack());
  EXPECT_FALSE(m.no_broadcast());
  EXPECT_EQ(m.timeout, std::chrono::milliseconds(3200));
  EXPECT_EQ(m.name, "whoami");
  EXPECT_EQ(m.payload, str("hi"));
  EXPECT_EQ(to_hex(encode(m)), to_hex(v));
}

TEST(SerfMessages, QueryPing) {
  MessageQuery q;
  q.ltime = 4;
  q.id = 99;
  q.addr = {127, 0, 0, 1};
  q.port = 7946;
  q.source_node = "a";
  q.flags = kQueryFlagAck;
  q.timeout = std::chrono::milliseconds(3200);
  q.name = "_serf_ping";
  EXPECT_EQ(to_hex(encode(q)), to_hex(vec("serf_query_ping")));
}

TEST(SerfMessages, QueryResponses) {
  auto ack = vec("serf_query_ack");
  EXPECT_EQ(to_hex(encode(MessageQueryResponse{4, 0x01020304, "b", kQueryFlagAck, {}})),
            to_hex(ack));
  auto m = decode_query_response(body(ack));
  EXPECT_TRUE(m.ack());
  EXPECT_EQ(m.from, "b");
  EXPECT_EQ(m.id, 0x01020304u);
  EXPECT_EQ(m.ltime, 4u);
  auto resp = vec("serf_query_response");
  EXPECT_EQ(to_hex(encode(MessageQueryResponse{4, 0x01020304, "b", 0, str("ok")})), to_hex(resp));
  EXPECT_EQ(decode_query_response(body(resp)).payload, str("ok"));
}

TEST(SerfMessages, Relay) {
  auto v = vec("serf_relay");
  RelayHeader h{gossip::Address{{127, 0, 0, 1}, 7946}, "a"};
  auto inner = encode(MessageQueryResponse{4, 0x01020304, "b", 0, str("ok")});
  EXPECT_EQ(to_hex(encode_relay(h, inner)), to_hex(v));
  size_t rest = 0;
  auto b = body(v);
  auto dh = decode_relay_header(b, rest);
  EXPECT_EQ(dh.dest_addr, h.dest_addr);
  EXPECT_EQ(dh.dest_name, "a");
  EXPECT_EQ(to_hex(Bytes(b.begin() + rest, b.end())), to_hex(inner));
}

TEST(SerfMessages, KeyRequestAndResponse) {
  Bytes key;
  for (int i = 0; i < 16; ++i) key.push_back(static_cast<uint8_t>(i));
  auto req = vec("serf_key_request");
  EXPECT_EQ(to_hex(encode(KeyRequest{key})), to_hex(req));
  EXPECT_EQ(decode_key_request(body(req)).key, key);

  auto resp = vec("serf_key_response");
  NodeKeyResponse r;
  r.result = true;
  r.keys = std::vector<std::string>{"AAECAwQFBgcICQoLDA0ODw=="};
  r.primary_key = "AAECAwQFBgcICQoLDA0ODw==";
  EXPECT_EQ(to_hex(encode(r)), to_hex(resp));
  auto d = decode_key_response(body(resp));
  EXPECT_TRUE(d.result);
  EXPECT_EQ(d.keys, r.keys);
  EXPECT_EQ(d.primary_key, r.primary_key);
  EXPECT_EQ(d.message, "");

  // No keys at all (no encryption): Keys is nil.
  NodeKeyResponse none;
  none.message = "Keyring is empty (encryption not enabled)";
  auto enc = encode(none);
  EXPECT_EQ(enc[1], 0x84);
  EXPECT_EQ(enc[2 + 5], 0xc0);  // a4 "Keys" c0
  EXPECT_FALSE(decode_key_response(body(enc)).keys.has_value());
}

TEST(SerfMessages, ConflictResponse) {
  Member m;
  m.name = "a";
  m.addr = gossip::Address{{127, 0, 0, 1}, 7946};
  m.tags = {{"role", "web"}};
  m.status = MemberStatus::Alive;
  m.protocol_min = 1;
  m.protocol_max = 5;
  m.protocol_cur = 2;
  m.delegate_min = 2;
  m.delegate_max = 5;
  m.delegate_cur = 5;
  auto v = vec("serf_conflict_response");
  EXPECT_EQ(to_hex(encode_conflict_response(&m)), to_hex(v));
  auto d = decode_conflict_response(body(v));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, m);
  EXPECT_EQ(to_hex(encode_conflict_response(nullptr)), to_hex(vec("serf_conflict_response_nil")));
  EXPECT_FALSE(decode_conflict_response(body(vec("serf_conflict_response_nil"))).has_value());
}

TEST(SerfMessages, PushPull) {
  auto v = vec("serf_push_pull");
  MessagePushPull pp;
  pp.ltime = 9;
  pp.status_ltimes = {{"a", 5}};
  pp.left_members = {"c"};
  pp.event_ltime = 4;
  pp.events = {std::nullopt, std::nullopt, std::nullopt,
               UserEventSlot{3, {UserEventRecord{"deploy", str("v1")}}}};
  pp.query_ltime = 5;
  EXPECT_EQ(to_hex(encode(pp)), to_hex(v));
  auto d = decode_push_pull(body(v));
  EXPECT_EQ(d.ltime, 9u);
  EXPECT_EQ(d.status_ltimes, pp.status_ltimes);
  EXPECT_EQ(d.left_members, pp.left_members);
  EXPECT_EQ(d.event_ltime, 4u);
  EXPECT_EQ(d.events, pp.events);
  EXPECT_EQ(d.query_ltime, 5u);
}

TEST(SerfMessages, PushPullFreshNodeSendsWholeRing) {
  MessagePushPull pp;
  pp.events.resize(512);
  auto enc = encode(pp);
  auto d = decode_push_pull(body(enc));
  EXPECT_EQ(d.events.size(), 512u);
  // Empty LeftMembers is an empty array (Go's make), never nil.
  EXPECT_NE(to_hex(enc).find("ab4c6566744d656d6265727390"), std::string::npos);
}

TEST(SerfMessages, Tags) {
  EXPECT_EQ(to_hex(encode_tags({{"role", "web"}})), to_hex(vec("serf_tags_one")));
  EXPECT_EQ(to_hex(encode_tags({})), to_hex(vec("serf_tags_empty")));
  EXPECT_EQ(to_hex(encode_tags({{"role", "web"}}, 2)), to_hex(vec("serf_tags_v2_role")));
}

TEST(SerfMessages, AckPayloadInitialCoordinate) {
  Bytes payload{1};
  auto c = coordinate::encode(coordinate::Coordinate::initial({}));
  payload.insert(payload.end(), c.begin(), c.end());
  EXPECT_EQ(to_hex(payload), to_hex(vec("serf_ack_payload_initial")));
  auto v = vec("serf_ack_payload_initial");
  auto d = coordinate::decode(body(v));
  EXPECT_EQ(d, coordinate::Coordinate::initial({}));
}

// The serf part of a captured UDP packet: after the optional CRC header, the user byte 08.
Bytes serf_part(const std::string& capture, size_t skip) {
  auto b = vector_named("captured_udp.txt", capture).bytes("hex");
  return Bytes(b.begin() + static_cast<long>(skip), b.end());
}

TEST(SerfMessages, CapturedTraffic) {
  // hasCrc (1 + 4 bytes) then user (08) then serf.
  auto q = serf_part("cap_query_serf_ping_crc", 6);
  auto query = decode_query(body(q));
  EXPECT_EQ(query.name, "_serf_ping");
  EXPECT_EQ(query.id, 1517654772u);
  EXPECT_TRUE(query.ack());
  EXPECT_TRUE(query.filters.empty());
  EXPECT_EQ(query.timeout, std::chrono::milliseconds(3200));
  EXPECT_EQ(to_hex(encode(query)), to_hex(q));

  auto ack = serf_part("cap_query_ack_direct", 1);
  auto r = decode_query_response(body(ack));
  EXPECT_EQ(r.from, "a");
  EXPECT_EQ(to_hex(encode(r)), to_hex(ack));

  auto leave = serf_part("cap_serf_leave_intent", 6);
  auto l = decode_leave(body(leave));
  EXPECT_EQ(l.node, "b");
  EXPECT_EQ(l.ltime, 5u);
  EXPECT_EQ(to_hex(encode(l)), to_hex(leave));
}

TEST(SerfMessages, DecodersAcceptWhatGoAccepts) {
  // Keys in another order, an unknown key, str8 strings and bin payloads.
  Bytes m = {0x84, 0xa4, 'N', 'a', 'm',  'e', 0xd9, 0x01, 'x', 0xa5, 'E', 'x', 't',  'r',  'a',
             0x93, 1,    2,   3,   0xa7, 'P', 'a',  'y',  'l', 'o',  'a', 'd', 0xc4, 0x01, 'p',
             0xa5, 'L',  'T', 'i', 'm',  'e', 0xcf, 0,    0,   0,    0,   0,   0,    0,    7};
  auto e = decode_user_event(m);
  EXPECT_EQ(e.name, "x");
  EXPECT_EQ(e.payload, str("p"));
  EXPECT_EQ(e.ltime, 7u);
  EXPECT_FALSE(e.cc);
}

TEST(SerfMessages, MalformedInputThrowsDecodeError) {
  EXPECT_THROW(decode_join(Bytes{}), mp::DecodeError);
  EXPECT_THROW(decode_join(Bytes{0x81, 0xa4, 'N', 'o', 'd', 'e', 0x01}), mp::DecodeError);
  EXPECT_THROW(decode_query(Bytes{0x85, 0xa4}), mp::DecodeError);
  // A bin value in a Go string field is an error, as in Go.
  EXPECT_THROW(decode_join(Bytes{0x81, 0xa4, 'N', 'o', 'd', 'e', 0xc4, 0x01, 'a'}),
               mp::DecodeError);
  EXPECT_THROW(decode_push_pull(Bytes{0x81, 0xa6, 'E', 'v', 'e', 'n', 't', 's', 0x05}),
               mp::DecodeError);
  size_t rest = 0;
  EXPECT_THROW(decode_relay_header(Bytes{0x92}, rest), mp::DecodeError);
}

}  // namespace
}  // namespace kc::serf
