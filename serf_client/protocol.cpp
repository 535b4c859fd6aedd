#include "serf_client/protocol.h"

#include <limits>

namespace kc::serf_client::proto {

using mp::DecodeError;
using mp::Value;
using mp::Writer;

namespace {

int32_t read_i32(const Value& v) {
  int64_t x = v.sint();
  if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
    throw DecodeError("msgpack: int32 out of range");
  return static_cast<int32_t>(x);
}

int read_int(const Value& v) {
  return read_i32(v);
}

// A Go struct may arrive as a map, or as nil (all zero values). Anything else is an error.
void require_struct(const Value& v) {
  if (!v.is_nil() && !v.is_map()) throw DecodeError("msgpack: expected map for struct");
}

void write_string_list_or_nil(Writer& w, const std::vector<std::string>& list) {
  if (list.empty()) {
    w.nil();
    return;
  }
  w.array(list.size());
  for (const auto& s : list) w.str(s);
}

void write_string_map(Writer& w, const Tags& m) {
  w.map(m.size());
  for (const auto& [k, v] : m) w.key(k).str(v);
}

const std::map<std::string_view, CommandShape>& shapes() {
  static const std::map<std::string_view, CommandShape> s = {
      {cmd::kHandshake, {true, false}},
      {cmd::kAuth, {true, false}},
      {cmd::kEvent, {true, false}},
      {cmd::kForceLeave, {true, false}},
      {cmd::kJoin, {true, true}},
      {cmd::kMembers, {false, true}},
      {cmd::kMembersFiltered, {true, true}},
      {cmd::kStream, {true, false}},
      {cmd::kStop, {true, false}},
      {cmd::kMonitor, {true, false}},
      {cmd::kLeave, {false, false}},
      {cmd::kInstallKey, {true, true}},
      {cmd::kUseKey, {true, true}},
      {cmd::kRemoveKey, {true, true}},
      {cmd::kListKeys, {false, true}},
      {cmd::kTags, {true, false}},
      {cmd::kQuery, {true, false}},
      {cmd::kRespond, {true, false}},
      {cmd::kStats, {false, true}},
      {cmd::kGetCoordinate, {true, true}},
  };
  return s;
}

}  // namespace

const CommandShape* command_shape(std::string_view command) {
  auto it = shapes().find(command);
  return it == shapes().end() ? nullptr : &it->second;
}

Tags read_string_map(const Value& v) {
  Tags out;
  for (auto& [k, val] : v.entries()) out[k] = val.string();
  return out;
}

std::vector<std::string> read_string_list(const Value& v) {
  std::vector<std::string> out;
  for (auto& item : v.items()) out.push_back(item.string());
  return out;
}

// ---- headers ----
void write(Writer& w, const RequestHeader& h) {
  w.map(2).key("Command").str(h.command).key("Seq").uint(h.seq);
}
void write(Writer& w, const ResponseHeader& h) {
  w.map(2).key("Error").str(h.error).key("Seq").uint(h.seq);
}

void read_into(const Value& v, RequestHeader& h) {
  require_struct(v);
  if (v.is_nil()) {
    h = {};  // go-msgpack sets a nil-decoded struct to its zero value
    return;
  }
  for (auto& [k, val] : v.entries()) {
    if (k == "Command")
      h.command = val.string();
    else if (k == "Seq")
      h.seq = val.uint();
  }
}

ResponseHeader read_response_header(const Value& v) {
  require_struct(v);
  return {v.get("Seq").uint(), v.get("Error").string()};
}

// ---- requests ----
void write(Writer& w, const HandshakeRequest& r) {
  w.map(1).key("Version").sint(r.version);
}
void write(Writer& w, const AuthRequest& r) {
  w.map(1).key("AuthKey").str(r.auth_key);
}
void write(Writer& w, const EventRequest& r) {
  w.map(3).key("Coalesce").boolean(r.coalesce).key("Name").str(r.name);
  w.key("Payload").bytes_or_nil(r.payload);
}
void write(Writer& w, const ForceLeaveRequest& r) {
  w.map(r.gone ? 3 : 2).key("Node").str(r.node).key("Prune").boolean(r.prune);
  if (r.gone) w.key("Gone").boolean(true);
}
void write(Writer& w, const JoinRequest& r) {
  w.map(2).key("Existing");
  write_string_list_or_nil(w, r.existing);
  w.key("Replay").boolean(r.replay);
}
void write(Writer& w, const MembersFilteredRequest& r) {
  w.map(3).key("Name").str(r.name).key("Status").str(r.status).key("Tags");
  write_string_map(w, r.tags);
}
void write(Writer& w, const KeyRequest& r) {
  w.map(1).key("Key").str(r.key);
}
void write(Writer& w, const MonitorRequest& r) {
  w.map(1).key("LogLevel").str(r.log_level);
}
void write(Writer& w, const StreamRequest& r) {
  w.map(1).key("Type").str(r.type);
}
void write(Writer& w, const StopRequest& r) {
  w.map(1).key("Stop").uint(r.stop);
}
void write(Writer& w, const TagsRequest& r) {
  w.map(2).key("DeleteTags");
  write_string_list_or_nil(w, r.delete_tags);
  w.key("Tags");
  write_string_map(w, r.tags);
}
void write(Writer& w, const QueryRequest& r) {
  const auto& p = r.params;
  w.map(7).key("FilterNodes");
  write_string_list_or_nil(w, p.filter_nodes);
  w.key("FilterTags");
  if (p.filter_tags.empty())
    w.nil();
  else
    write_string_map(w, p.filter_tags);
  w.key("Name").str(p.name).key("Payload");
  if (r.payload_nil && p.payload.empty())
    w.nil();
  else
    w.bytes(p.payload);
  w.key("RelayFactor").uint(p.relay_factor).key("RequestAck").boolean(p.request_ack);
  w.key("Timeout").sint(p.timeout.count());
}
void write(Writer& w, const RespondRequest& r) {
  w.map(2).key("ID").uint(r.id).key("Payload").bytes_or_nil(r.payload);
}
void write(Writer& w, const CoordinateRequest& r) {
  w.map(1).key("Node").str(r.node);
}

HandshakeRequest read_handshake(const Value& v) {
  require_struct(v);
  return {read_i32(v.get("Version"))};
}
AuthRequest read_auth(const Value& v) {
  require_struct(v);
  return {v.get("AuthKey").string()};
}
EventRequest read_event(const Value& v) {
  require_struct(v);
  return {v.get("Name").string(), v.get("Payload").bytes(), v.get("Coalesce").boolean()};
}
ForceLeaveRequest read_force_leave(const Value& v) {
  require_struct(v);
  return {v.get("Node").string(), v.get("Prune").boolean(), v.get("Gone").boolean()};
}
JoinRequest read_join(const Value& v) {
  require_struct(v);
  return {read_string_list(v.get("Existing")), v.get("Replay").boolean()};
}
MembersFilteredRequest read_members_filtered(const Value& v) {
  require_struct(v);
  return {read_string_map(v.get("Tags")), v.get("Status").string(), v.get("Name").string()};
}
KeyRequest read_key(const Value& v) {
  require_struct(v);
  return {v.get("Key").string()};
}
MonitorRequest read_monitor(const Value& v) {
  require_struct(v);
  return {v.get("LogLevel").string()};
}
StreamRequest read_stream(const Value& v) {
  require_struct(v);
  return {v.get("Type").string()};
}
StopRequest read_stop(const Value& v) {
  require_struct(v);
  return {v.get("Stop").uint()};
}
TagsRequest read_tags(const Value& v) {
  require_struct(v);
  return {read_string_map(v.get("Tags")), read_string_list(v.get("DeleteTags"))};
}
QueryRequest read_query(const Value& v) {
  require_struct(v);
  QueryRequest r;
  auto& p = r.params;
  p.filter_nodes = read_string_list(v.get("FilterNodes"));
  p.filter_tags = read_string_map(v.get("FilterTags"));
  p.request_ack = v.get("RequestAck").boolean();
  p.relay_factor = v.get("RelayFactor").u8();
  p.timeout = std::chrono::nanoseconds(v.get("Timeout").sint());
  p.name = v.get("Name").string();
  Value payload = v.get("Payload");
  r.payload_nil = payload.is_nil();
  p.payload = payload.bytes();
  return r;
}
RespondRequest read_respond(const Value& v) {
  require_struct(v);
  return {v.get("ID").uint(), v.get("Payload").bytes()};
}
CoordinateRequest read_coordinate_request(const Value& v) {
  require_struct(v);
  return {v.get("Node").string()};
}

// ---- replies and records ----
void write_member(Writer& w, const MemberInfo& m) {
  w.map(11);
  w.key("Addr").bytes_or_nil(m.addr);
  w.key("DelegateCur").uint(m.delegate_cur);
  w.key("DelegateMax").uint(m.delegate_max);
  w.key("DelegateMin").uint(m.delegate_min);
  w.key("Name").str(m.name);
  w.key("Port").uint(m.port);
  w.key("ProtocolCur").uint(m.protocol_cur);
  w.key("ProtocolMax").uint(m.protocol_max);
  w.key("ProtocolMin").uint(m.protocol_min);
  w.key("Status").str(m.status);
  w.key("Tags");
  write_string_map(w, m.tags);
}

MemberInfo read_member(const Value& v) {
  require_struct(v);
  MemberInfo m;
  m.name = v.get("Name").string();
  m.addr = v.get("Addr").bytes();
  m.port = v.get("Port").u16();
  m.tags = read_string_map(v.get("Tags"));
  m.status = v.get("Status").string();
  m.protocol_min = v.get("ProtocolMin").u8();
  m.protocol_max = v.get("ProtocolMax").u8();
  m.protocol_cur = v.get("ProtocolCur").u8();
  m.delegate_min = v.get("DelegateMin").u8();
  m.delegate_max = v.get("DelegateMax").u8();
  m.delegate_cur = v.get("DelegateCur").u8();
  return m;
}

void write_members(Writer& w, const std::vector<MemberInfo>& members) {
  w.map(1).key("Members").array(members.size());
  for (const auto& m : members) write_member(w, m);
}

std::vector<MemberInfo> read_members(const Value& v) {
  require_struct(v);
  std::vector<MemberInfo> out;
  for (auto& item : v.get("Members").items()) out.push_back(read_member(item));
  return out;
}

void write_join_response(Writer& w, int32_t num) {
  w.map(1).key("Num").sint(num);
}
int32_t read_join_response(const Value& v) {
  require_struct(v);
  return read_i32(v.get("Num"));
}

void write_key_response(Writer& w, const KeyResult& r, bool with_keys) {
  w.map(5).key("Keys");
  if (with_keys) {
    w.map(r.keys.size());
    for (const auto& [k, n] : r.keys) w.key(k).sint(n);
  } else {
    w.nil();
  }
  w.key("Messages");
  write_string_map(w, r.messages);
  w.key("NumErr").sint(r.num_err).key("NumNodes").sint(r.num_nodes).key("NumResp").sint(r.num_resp);
}

KeyResult read_key_response(const Value& v) {
  require_struct(v);
  KeyResult r;
  for (auto& [k, n] : v.get("Keys").entries()) r.keys[k] = read_int(n);
  r.messages = read_string_map(v.get("Messages"));
  r.num_err = read_int(v.get("NumErr"));
  r.num_nodes = read_int(v.get("NumNodes"));
  r.num_resp = read_int(v.get("NumResp"));
  return r;
}

void write_coordinate_response(Writer& w, const std::optional<Coordinate>& c) {
  Coordinate zero;
  const Coordinate& x = c ? *c : zero;
  w.map(2).key("Coord").map(4);
  w.key("Adjustment").f64(x.adjustment).key("Error").f64(x.error).key("Height").f64(x.height);
  w.key("Vec");
  if (!c) {
    w.nil();  // Go's zero Coordinate has a nil Vec
  } else {
    w.array(x.vec.size());
    for (double d : x.vec) w.f64(d);
  }
  w.key("Ok").boolean(c.has_value());
}

std::optional<Coordinate> read_coordinate_response(const Value& v) {
  require_struct(v);
  if (!v.get("Ok").boolean()) return std::nullopt;
  Value c = v.get("Coord");
  require_struct(c);
  Coordinate out;
  out.adjustment = c.get("Adjustment").f64();
  out.error = c.get("Error").f64();
  out.height = c.get("Height").f64();
  for (auto& d : c.get("Vec").items()) out.vec.push_back(d.f64());
  return out;
}

void write_stats(Writer& w, const Stats& s) {
  w.map(s.size());
  for (const auto& [section, values] : s) {
    w.key(section);
    write_string_map(w, values);
  }
}

Stats read_stats(const Value& v) {
  Stats out;
  for (auto& [section, values] : v.entries()) out[section] = read_string_map(values);
  return out;
}

namespace {
struct EventWriter {
  Writer& w;
  uint64_t query_id;
  void operator()(const MemberEvent& e) const {
    w.map(2).key("Event").str(e.type).key("Members").array(e.members.size());
    for (const auto& m : e.members) write_member(w, m);
  }
  void operator()(const UserEvent& e) const {
    w.map(5).key("Coalesce").boolean(e.coalesce).key("Event").str("user");
    w.key("LTime").uint(e.ltime).key("Name").str(e.name).key("Payload").bytes_or_nil(e.payload);
  }
  void operator()(const QueryEvent& e) const {
    w.map(5).key("Event").str("query").key("ID").uint(query_id).key("LTime").uint(e.ltime);
    w.key("Name").str(e.name).key("Payload").bytes_or_nil(e.payload);
  }
};
}  // namespace

void write_event_record(Writer& w, const Event& e, uint64_t query_id) {
  std::visit(EventWriter{w, query_id}, e);
}

void write_query_record(Writer& w, std::string_view type, std::string_view from,
                        const Bytes& payload) {
  w.map(3).key("From").str(from).key("Payload").bytes_or_nil(payload).key("Type").str(type);
}

void write_log_record(Writer& w, std::string_view line) {
  w.map(1).key("Log").str(line);
}

}  // namespace kc::serf_client::proto
