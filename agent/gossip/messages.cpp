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

Bytes encode(const Alive& m) {
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

Bytes decode_ip(const mp::Value& v, const char* key, bool optional) {
  Bytes ip = v.get(key).bytes();
  if ((ip.empty() && optional) || ip.size() == 4 || ip.size() == 16) return ip;
  throw BadAddressError(std::string(key) + " must be a 4- or 16-byte IP, not " +
                        std::to_string(ip.size()) + " bytes");
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
  return Alive{v.get("Incarnation").u32(), v.get("Node").string(), decode_ip(v, "Addr", false),
               v.get("Port").u16(),        v.get("Meta").bytes(),  v.get("Vsn").bytes()};
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
  auto state = v.get("State").sint();
  if (state < 0 || state > 3) throw mp::DecodeError("push node state: unknown State");
  // Lenient here: one odd node must not fail a whole join; merging skips (and counts) it.
  return PushNodeState{v.get("Name").string(),     v.get("Addr").bytes(),
                       v.get("Port").u16(),        v.get("Meta").bytes(),
                       v.get("Incarnation").u32(), static_cast<NodeState>(state),
                       v.get("Vsn").bytes()};
}

UserMsgHeader decode_user_msg_header(const mp::Value& v) {
  return UserMsgHeader{v.get("UserMsgLen").sint()};
}

}  // namespace kc::gossip
