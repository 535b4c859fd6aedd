#include "agent/serf/messages.h"

#include <algorithm>

#include "agent/gossip/messages.h"
#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"

namespace kc::serf {

const char* to_string(MessageType t) {
  static constexpr const char* kNames[] = {
      "leave",        "join",           "push_pull",         "user_event",
      "query",        "query_response", "conflict_response", "key_request",
      "key_response", "relay"};
  auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

namespace {

using mp::Writer;

Bytes start(MessageType t) {
  return Bytes{static_cast<uint8_t>(t)};
}

mp::Value root_of(const mp::Document& doc) {
  return doc.root();
}

void write_tags(Writer& w, const Tags& tags) {
  w.map(tags.size());
  for (const auto& [k, v] : tags) w.str(k).str(v);
}

Tags read_tags(const mp::Value& v) {
  Tags out;
  for (auto& [k, val] : v.entries()) out[k] = val.string();
  return out;
}

void write_user_event_slot(Writer& w, const UserEventSlot& s) {
  w.map(2);
  w.key("Events").array(s.events.size());
  for (const auto& e : s.events) {
    w.map(2);
    w.key("Name").str(e.name);
    w.key("Payload").bytes_or_nil(e.payload);
  }
  w.key("LTime").uint(s.ltime);
}

}  // namespace

Bytes encode(const MessageJoin& m) {
  Bytes out = start(MessageType::Join);
  Writer w(out);
  w.map(2);
  w.key("LTime").uint(m.ltime);
  w.key("Node").str(m.node);
  return out;
}

Bytes encode(const MessageLeave& m) {
  Bytes out = start(MessageType::Leave);
  Writer w(out);
  w.map(3);
  w.key("LTime").uint(m.ltime);
  w.key("Node").str(m.node);
  w.key("Prune").boolean(m.prune);
  return out;
}

Bytes encode(const MessagePushPull& m) {
  Bytes out = start(MessageType::PushPull);
  Writer w(out);
  w.map(6);
  w.key("EventLTime").uint(m.event_ltime);
  w.key("Events").array(m.events.size());
  for (const auto& slot : m.events) {
    if (slot) {
      write_user_event_slot(w, *slot);
    } else {
      w.nil();
    }
  }
  w.key("LTime").uint(m.ltime);
  // Go builds LeftMembers with make(): an empty list is 90, never nil.
  w.key("LeftMembers").array(m.left_members.size());
  for (const auto& n : m.left_members) w.str(n);
  w.key("QueryLTime").uint(m.query_ltime);
  w.key("StatusLTimes").map(m.status_ltimes.size());
  for (const auto& [name, lt] : m.status_ltimes) w.str(name).uint(lt);
  return out;
}

Bytes encode(const MessageUserEvent& m) {
  Bytes out = start(MessageType::UserEvent);
  Writer w(out);
  w.map(4);
  w.key("CC").boolean(m.cc);
  w.key("LTime").uint(m.ltime);
  w.key("Name").str(m.name);
  w.key("Payload").bytes_or_nil(m.payload);
  return out;
}

Bytes encode(const MessageQuery& m) {
  Bytes out = start(MessageType::Query);
  Writer w(out);
  w.map(11);
  w.key("Addr").bytes_or_nil(m.addr);
  w.key("Filters");
  if (m.filters.empty()) {
    w.nil();
  } else {
    w.array(m.filters.size());
    for (const auto& f : m.filters) w.bytes(f);
  }
  w.key("Flags").uint(m.flags);
  w.key("ID").uint(m.id);
  w.key("LTime").uint(m.ltime);
  w.key("Name").str(m.name);
  w.key("Payload").bytes_or_nil(m.payload);
  w.key("Port").uint(m.port);
  w.key("RelayFactor").uint(m.relay_factor);
  w.key("SourceNode").str(m.source_node);
  w.key("Timeout").sint(m.timeout.count());
  return out;
}

Bytes encode(const MessageQueryResponse& m) {
  Bytes out = start(MessageType::QueryResponse);
  Writer w(out);
  w.map(5);
  w.key("Flags").uint(m.flags);
  w.key("From").str(m.from);
  w.key("ID").uint(m.id);
  w.key("LTime").uint(m.ltime);
  w.key("Payload").bytes_or_nil(m.payload);
  return out;
}

Bytes encode(const KeyRequest& m) {
  Bytes out = start(MessageType::KeyRequest);
  Writer w(out);
  w.map(1);
  // base64-decoding "" in Go yields an empty non-nil slice, so list-keys sends a0, not c0.
  w.key("Key").bytes(m.key);
  return out;
}

Bytes encode(const NodeKeyResponse& m) {
  Bytes out = start(MessageType::KeyResponse);
  Writer w(out);
  w.map(4);
  w.key("Keys");
  if (m.keys) {
    w.array(m.keys->size());
    for (const auto& k : *m.keys) w.str(k);
  } else {
    w.nil();
  }
  w.key("Message").str(m.message);
  w.key("PrimaryKey").str(m.primary_key);
  w.key("Result").boolean(m.result);
  return out;
}

void write_member(Writer& w, const Member& m) {
  w.map(11);
  w.key("Addr").bytes_or_nil(m.addr.ip);
  w.key("DelegateCur").uint(m.delegate_cur);
  w.key("DelegateMax").uint(m.delegate_max);
  w.key("DelegateMin").uint(m.delegate_min);
  w.key("Name").str(m.name);
  w.key("Port").uint(m.addr.port);
  w.key("ProtocolCur").uint(m.protocol_cur);
  w.key("ProtocolMax").uint(m.protocol_max);
  w.key("ProtocolMin").uint(m.protocol_min);
  w.key("Status").sint(static_cast<int>(m.status));
  w.key("Tags");
  write_tags(w, m.tags);
}

Bytes encode_conflict_response(const Member* m) {
  Bytes out = start(MessageType::ConflictResponse);
  Writer w(out);
  if (m) {
    write_member(w, *m);
  } else {
    w.nil();
  }
  return out;
}

Bytes encode_relay(const RelayHeader& h, std::span<const uint8_t> inner) {
  Bytes out = start(MessageType::Relay);
  Writer w(out);
  w.map(2);
  w.key("DestAddr").map(3);
  w.key("IP").bytes_or_nil(h.dest_addr.ip);
  w.key("Port").uint(h.dest_addr.port);
  w.key("Zone").str("");
  w.key("DestName").str(h.dest_name);
  w.raw(inner);
  return out;
}

Bytes encode_node_filter(const std::vector<std::string>& nodes) {
  Bytes out{static_cast<uint8_t>(FilterType::Node)};
  Writer w(out);
  w.array(nodes.size());
  for (const auto& n : nodes) w.str(n);
  return out;
}

Bytes encode_tag_filter(const FilterTag& f) {
  Bytes out{static_cast<uint8_t>(FilterType::Tag)};
  Writer w(out);
  w.map(2);
  w.key("Expr").str(f.expr);
  w.key("Tag").str(f.tag);
  return out;
}

MessageJoin decode_join(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessageJoin m;
  m.ltime = r.get("LTime").uint();
  m.node = r.get("Node").string();
  return m;
}

MessageLeave decode_leave(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessageLeave m;
  m.ltime = r.get("LTime").uint();
  m.node = r.get("Node").string();
  m.prune = r.get("Prune").boolean();
  return m;
}

MessagePushPull decode_push_pull(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessagePushPull m;
  m.ltime = r.get("LTime").uint();
  for (auto& [name, v] : r.get("StatusLTimes").entries()) m.status_ltimes[name] = v.uint();
  for (auto& v : r.get("LeftMembers").items()) m.left_members.push_back(v.string());
  m.event_ltime = r.get("EventLTime").uint();
  for (auto& slot : r.get("Events").items()) {
    if (slot.is_nil()) {
      m.events.emplace_back();
      continue;
    }
    UserEventSlot s;
    s.ltime = slot.get("LTime").uint();
    for (auto& e : slot.get("Events").items()) {
      s.events.push_back({e.get("Name").string(), e.get("Payload").bytes()});
    }
    m.events.emplace_back(std::move(s));
  }
  m.query_ltime = r.get("QueryLTime").uint();
  return m;
}

MessageUserEvent decode_user_event(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessageUserEvent m;
  m.ltime = r.get("LTime").uint();
  m.name = r.get("Name").string();
  m.payload = r.get("Payload").bytes();
  m.cc = r.get("CC").boolean();
  return m;
}

MessageQuery decode_query(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessageQuery m;
  m.ltime = r.get("LTime").uint();
  m.id = r.get("ID").u32();
  // Responses go to Addr: an unsendable one refuses the query here (a bad_address drop).
  m.addr = gossip::decode_ip(r, "Addr", false);
  m.port = r.get("Port").u16();
  m.source_node = r.get("SourceNode").string();
  for (auto& f : r.get("Filters").items()) m.filters.push_back(f.bytes());
  m.flags = r.get("Flags").u32();
  m.relay_factor = r.get("RelayFactor").u8();
  // Clamped so that now + timeout cannot overflow the clock (Go's time.Add saturates).
  m.timeout = std::chrono::nanoseconds(
      std::clamp<int64_t>(r.get("Timeout").sint(), 0, kMaxQueryTimeout.count()));
  m.name = r.get("Name").string();
  m.payload = r.get("Payload").bytes();
  return m;
}

MessageQueryResponse decode_query_response(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  MessageQueryResponse m;
  m.ltime = r.get("LTime").uint();
  m.id = r.get("ID").u32();
  m.from = r.get("From").string();
  m.flags = r.get("Flags").u32();
  m.payload = r.get("Payload").bytes();
  return m;
}

KeyRequest decode_key_request(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  KeyRequest m;
  m.key = root_of(doc).get("Key").bytes();
  return m;
}

NodeKeyResponse decode_key_response(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  NodeKeyResponse m;
  m.result = r.get("Result").boolean();
  m.message = r.get("Message").string();
  auto keys = r.get("Keys");
  if (!keys.is_nil()) {
    m.keys.emplace();
    for (auto& k : keys.items()) m.keys->push_back(k.string());
  }
  m.primary_key = r.get("PrimaryKey").string();
  return m;
}

Member read_member(const mp::Value& r) {
  Member m;
  m.name = r.get("Name").string();
  m.addr.ip = r.get("Addr").bytes();
  m.addr.port = r.get("Port").u16();
  m.tags = read_tags(r.get("Tags"));
  int64_t status = r.get("Status").sint();
  if (status < 0 || status > 4) throw mp::DecodeError("serf: member status out of range");
  m.status = static_cast<MemberStatus>(status);
  m.protocol_min = r.get("ProtocolMin").u8();
  m.protocol_max = r.get("ProtocolMax").u8();
  m.protocol_cur = r.get("ProtocolCur").u8();
  m.delegate_min = r.get("DelegateMin").u8();
  m.delegate_max = r.get("DelegateMax").u8();
  m.delegate_cur = r.get("DelegateCur").u8();
  return m;
}

std::optional<Member> decode_conflict_response(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  if (r.is_nil()) return std::nullopt;
  return read_member(r);
}

RelayHeader decode_relay_header(std::span<const uint8_t> body, size_t& rest_offset) {
  size_t off = 0;
  auto doc = mp::Document::parse(body, off);
  auto r = root_of(doc);
  RelayHeader h;
  auto dest = r.get("DestAddr");
  h.dest_addr.ip = gossip::decode_ip(dest, "IP", false);
  int64_t port = dest.get("Port").sint();
  if (port < 0 || port > 65535) throw mp::DecodeError("serf: relay port out of range");
  h.dest_addr.port = static_cast<uint16_t>(port);
  h.dest_name = r.get("DestName").string();
  rest_offset = off;
  return h;
}

std::vector<std::string> decode_node_filter(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  std::vector<std::string> out;
  for (auto& v : root_of(doc).items()) out.push_back(v.string());
  return out;
}

FilterTag decode_tag_filter(std::span<const uint8_t> body) {
  auto doc = mp::Document::parse(body);
  auto r = root_of(doc);
  return FilterTag{r.get("Tag").string(), r.get("Expr").string()};
}

}  // namespace kc::serf
