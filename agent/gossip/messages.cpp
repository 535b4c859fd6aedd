#include "agent/gossip/messages.h"

#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"

namespace kc::gossip {

const char* to_string(MsgType t) {
  static constexpr const char* kNames[] = {
      "ping",     "indirect_ping", "ack",      "suspect", "alive", "dead",    "push_pull",
      "compound", "user",          "compress", "encrypt", "nack",  "has_crc", "err"};
  auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

namespace {

Bytes start(MsgType t) {
  return Bytes{static_cast<uint8_t>(t)};
}

Bytes copy(std::span<const uint8_t> b) {
  return Bytes(b.begin(), b.end());
}

}  // namespace

Bytes encode(const Ping& m) {
  Bytes out = start(MsgType::Ping);
  mp::Writer w(out);
  // Source* are omitempty: the map shrinks when they are zero.
  size_t n = 2 + !m.source_addr.empty() + !m.source_node.empty() + (m.source_port != 0);
  w.map(n);
  w.key("Node").str(m.node);
  w.key("SeqNo").uint(m.seq_no);
  if (!m.source_addr.empty()) w.key("SourceAddr").bytes(m.source_addr);
  if (!m.source_node.empty()) w.key("SourceNode").str(m.source_node);
  if (m.source_port != 0) w.key("SourcePort").uint(m.source_port);
  return out;
}

Bytes encode(const IndirectPing& m) {
  Bytes out = start(MsgType::IndirectPing);
  mp::Writer w(out);
  size_t n = 5 + !m.source_addr.empty() + !m.source_node.empty() + (m.source_port != 0);
  w.map(n);
  w.key("Nack").boolean(m.nack);
  w.key("Node").str(m.node);
  w.key("Port").uint(m.port);
  w.key("SeqNo").uint(m.seq_no);
  if (!m.source_addr.empty()) w.key("SourceAddr").bytes(m.source_addr);
  if (!m.source_node.empty()) w.key("SourceNode").str(m.source_node);
  if (m.source_port != 0) w.key("SourcePort").uint(m.source_port);
  w.key("Target").bytes_or_nil(m.target);
  return out;
}

Bytes encode(const Ack& m) {
  Bytes out = start(MsgType::Ack);
  mp::Writer w(out);
  w.map(2);
  w.key("Payload").bytes_or_nil(m.payload);
  w.key("SeqNo").uint(m.seq_no);
  return out;
}

Bytes encode(const Nack& m) {
  Bytes out = start(MsgType::Nack);
  mp::Writer(out).map(1).key("SeqNo").uint(m.seq_no);
  return out;
}

namespace {

// suspect and dead share one shape: {From, Incarnation, Node}.
Bytes encode_accusation(MsgType t, const std::string& from, uint32_t inc, const std::string& node) {
  Bytes out = start(t);
  mp::Writer w(out);
  w.map(3);
  w.key("From").str(from);
  w.key("Incarnation").uint(inc);
  w.key("Node").str(node);
  return out;
}

}  // namespace

Bytes encode(const Suspect& m) {
  return encode_accusation(MsgType::Suspect, m.from, m.incarnation, m.node);
}
Bytes encode(const Dead& m) {
  return encode_accusation(MsgType::Dead, m.from, m.incarnation, m.node);
}

AliveView view_of(const Alive& m) {
  return AliveView{m.incarnation, m.node, m.addr, m.port, m.meta, m.vsn};
}

PushNodeStateView view_of(const PushNodeState& m) {
  return PushNodeStateView{m.name, m.addr, m.port, m.meta, m.incarnation, m.state, m.vsn};
}

Bytes encode(const Alive& m) {
  return encode(view_of(m));
}

Bytes encode(const AliveView& m) {
  Bytes out = start(MsgType::Alive);
  mp::Writer w(out);
  w.map(6);
  w.key("Addr").bytes_or_nil(m.addr);
  w.key("Incarnation").uint(m.incarnation);
  w.key("Meta").bytes_or_nil(m.meta);
  w.key("Node").str(m.node);
  w.key("Port").uint(m.port);
  w.key("Vsn").bytes_or_nil(m.vsn);
  return out;
}

Bytes encode(const ErrResp& m) {
  Bytes out = start(MsgType::Err);
  mp::Writer(out).map(1).key("Error").str(m.error);
  return out;
}

Bytes encode(const Compress& m) {
  Bytes out = start(MsgType::Compress);
  mp::Writer w(out);
  w.map(2);
  w.key("Algo").uint(m.algo);
  w.key("Buf").bytes_or_nil(m.buf);
  return out;
}

void encode_body(Bytes& out, const PushPullHeader& m) {
  mp::Writer w(out);
  w.map(3);
  w.key("Join").boolean(m.join);
  w.key("Nodes").sint(m.nodes);
  w.key("UserStateLen").sint(m.user_state_len);
}

void encode_body(Bytes& out, const PushNodeState& m) {
  encode_body(out, view_of(m));
}

void encode_body(Bytes& out, const PushNodeStateView& m) {
  mp::Writer w(out);
  w.map(7);
  w.key("Addr").bytes_or_nil(m.addr);
  w.key("Incarnation").uint(m.incarnation);
  w.key("Meta").bytes_or_nil(m.meta);
  w.key("Name").str(m.name);
  w.key("Port").uint(m.port);
  w.key("State").uint(static_cast<uint8_t>(m.state));
  w.key("Vsn").bytes_or_nil(m.vsn);
}

void encode_body(Bytes& out, const UserMsgHeader& m) {
  mp::Writer(out).map(1).key("UserMsgLen").sint(m.user_msg_len);
}

// A byte field in place, or (sent as an array of integers) decoded into `spill`.
std::span<const uint8_t> bytes_in(const mp::Value& v, ByteSpill& spill) {
  if (auto in_place = v.byte_view()) return *in_place;
  return spill.emplace_back(v.bytes());
}

std::span<const uint8_t> decode_ip_view(const mp::Value& v, const char* key, bool optional,
                                        ByteSpill& spill) {
  auto ip = bytes_in(v.get(key), spill);
  if ((ip.empty() && optional) || ip.size() == 4 || ip.size() == 16) return ip;
  throw BadAddressError(std::string(key) + " must be a 4- or 16-byte IP, not " +
                        std::to_string(ip.size()) + " bytes");
}

Bytes decode_ip(const mp::Value& v, const char* key, bool optional) {
  ByteSpill spill;
  auto ip = decode_ip_view(v, key, optional, spill);
  return Bytes(ip.begin(), ip.end());
}

Ping decode_ping(const mp::Value& v) {
  return Ping{v.get("SeqNo").u32(), v.get("Node").string(), decode_ip(v, "SourceAddr", true),
              v.get("SourcePort").u16(), v.get("SourceNode").string()};
}

IndirectPing decode_indirect_ping(const mp::Value& v) {
  return IndirectPing{v.get("SeqNo").u32(),      decode_ip(v, "Target", false),
                      v.get("Port").u16(),       v.get("Node").string(),
                      v.get("Nack").boolean(),   decode_ip(v, "SourceAddr", true),
                      v.get("SourcePort").u16(), v.get("SourceNode").string()};
}

Ack decode_ack(const mp::Value& v) {
  return Ack{v.get("SeqNo").u32(), v.get("Payload").bytes()};
}
Nack decode_nack(const mp::Value& v) {
  return Nack{v.get("SeqNo").u32()};
}

Suspect decode_suspect(const mp::Value& v) {
  return Suspect{v.get("Incarnation").u32(), v.get("Node").string(), v.get("From").string()};
}

Dead decode_dead(const mp::Value& v) {
  return Dead{v.get("Incarnation").u32(), v.get("Node").string(), v.get("From").string()};
}

Alive decode_alive(const mp::Value& v) {
  ByteSpill spill;
  auto a = decode_alive_view(v, spill);
  return Alive{a.incarnation, std::string(a.node), copy(a.addr), a.port, copy(a.meta), copy(a.vsn)};
}

AliveView decode_alive_view(const mp::Value& v, ByteSpill& spill) {
  return AliveView{v.get("Incarnation").u32(),
                   v.get("Node").string_view(),
                   decode_ip_view(v, "Addr", false, spill),
                   v.get("Port").u16(),
                   bytes_in(v.get("Meta"), spill),
                   bytes_in(v.get("Vsn"), spill)};
}

ErrResp decode_err(const mp::Value& v) {
  return ErrResp{v.get("Error").string()};
}
Compress decode_compress(const mp::Value& v) {
  return Compress{v.get("Algo").u8(), v.get("Buf").bytes()};
}

PushPullHeader decode_push_pull_header(const mp::Value& v) {
  return PushPullHeader{v.get("Nodes").sint(), v.get("UserStateLen").sint(),
                        v.get("Join").boolean()};
}

PushNodeState decode_push_node_state(const mp::Value& v) {
  ByteSpill spill;
  auto n = decode_push_node_state_view(v, spill);
  return PushNodeState{std::string(n.name), copy(n.addr), n.port,     copy(n.meta),
                       n.incarnation,       n.state,      copy(n.vsn)};
}

PushNodeStateView decode_push_node_state_view(const mp::Value& v, ByteSpill& spill) {
  auto state = v.get("State").sint();
  if (state < 0 || state > 3) throw mp::DecodeError("push node state: unknown State");
  // Lenient here: one odd node must not fail a whole join; merging skips (and counts) it.
  return PushNodeStateView{v.get("Name").string_view(),  bytes_in(v.get("Addr"), spill),
                           v.get("Port").u16(),          bytes_in(v.get("Meta"), spill),
                           v.get("Incarnation").u32(),   static_cast<NodeState>(state),
                           bytes_in(v.get("Vsn"), spill)};
}

UserMsgHeader decode_user_msg_header(const mp::Value& v) {
  return UserMsgHeader{v.get("UserMsgLen").sint()};
}

}  // namespace kc::gossip
