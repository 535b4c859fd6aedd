// Serf's agent RPC (IPC v1; docs/wire.md, "The agent RPC"): command names, exact error strings, and
// the request/response bodies with their msgpack encodings. Shared by the server and the client so
// the two cannot drift apart.
//
// Encoding follows go-msgpack's RPC handle (Dialect::Rpc): structs are maps whose keys are
// the Go field names in ascending byte order; []byte is bin; strings use str8 when short.
// Decoding is lenient as Go's is (any key order, unknown keys skipped, nil = zero value) but
// a Go string field still refuses bin, and out-of-range integers are errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"
#include "serf_client/records.h"

namespace kc::serf_client::proto {

inline constexpr int32_t kIpcVersion = 1;

namespace cmd {
inline constexpr std::string_view kHandshake = "handshake";
inline constexpr std::string_view kAuth = "auth";
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kForceLeave = "force-leave";
inline constexpr std::string_view kJoin = "join";
inline constexpr std::string_view kMembers = "members";
inline constexpr std::string_view kMembersFiltered = "members-filtered";
inline constexpr std::string_view kStream = "stream";
inline constexpr std::string_view kStop = "stop";
inline constexpr std::string_view kMonitor = "monitor";
inline constexpr std::string_view kLeave = "leave";
inline constexpr std::string_view kInstallKey = "install-key";
inline constexpr std::string_view kUseKey = "use-key";
inline constexpr std::string_view kRemoveKey = "remove-key";
inline constexpr std::string_view kListKeys = "list-keys";
inline constexpr std::string_view kTags = "tags";
inline constexpr std::string_view kQuery = "query";
inline constexpr std::string_view kRespond = "respond";
inline constexpr std::string_view kStats = "stats";
inline constexpr std::string_view kGetCoordinate = "get-coordinate";
}  // namespace cmd

namespace err {
inline constexpr std::string_view kUnsupportedCommand = "Unsupported command";
inline constexpr std::string_view kUnsupportedIpcVersion = "Unsupported IPC version";
inline constexpr std::string_view kDuplicateHandshake = "Handshake already performed";
inline constexpr std::string_view kHandshakeRequired = "Handshake required";
inline constexpr std::string_view kMonitorExists = "Monitor already exists";
inline constexpr std::string_view kInvalidFilter = "Invalid event filter";
inline constexpr std::string_view kStreamExists = "Stream with given sequence exists";
inline constexpr std::string_view kInvalidQueryId = "No pending queries matching ID";
inline constexpr std::string_view kAuthRequired = "Authentication required";
inline constexpr std::string_view kInvalidAuthToken = "Invalid authentication token";
inline constexpr std::string_view kInternalQueryPrefix =
    "Queries cannot contain the '_serf_' prefix";
}  // namespace err

inline constexpr std::string_view kInternalPrefix = "_serf_";

// Whether the request carries a body object after its header, and whether the reply does
// (the reply body is sent even when Error is set, because Go's client reads it regardless).
struct CommandShape {
  bool request_body = false;
  bool reply_body = false;
};
// nullptr for an unknown command.
const CommandShape* command_shape(std::string_view command);

// ---- headers ----
struct RequestHeader {
  std::string command;
  uint64_t seq = 0;
};
struct ResponseHeader {
  uint64_t seq = 0;
  std::string error;
};
void write(mp::Writer& w, const RequestHeader& h);
void write(mp::Writer& w, const ResponseHeader& h);
// Decodes into `h`, leaving fields absent from the map unchanged (as go-msgpack decodes into
// a reused struct); nil zeroes it.
void read_into(const mp::Value& v, RequestHeader& h);
ResponseHeader read_response_header(const mp::Value& v);

// ---- request bodies ----
struct HandshakeRequest {
  int32_t version = 0;
};
struct AuthRequest {
  std::string auth_key;
};
struct EventRequest {
  std::string name;
  Bytes payload;
  bool coalesce = false;
};
struct ForceLeaveRequest {
  std::string node;
  bool prune = false;
  // Our extension (key "Gone", sent only when true; Serf ignores it): the sender confirmed the
  // member is gone for good (the operator: its pod no longer exists). Implies prune.
  bool gone = false;
};
struct JoinRequest {
  std::vector<std::string> existing;
  bool replay = false;
};
struct MembersFilteredRequest {
  Tags tags;  // tag -> regex
  std::string status;
  std::string name;
};
struct KeyRequest {
  std::string key;
};
struct MonitorRequest {
  std::string log_level;
};
struct StreamRequest {
  std::string type;
};
struct StopRequest {
  uint64_t stop = 0;
};
struct TagsRequest {
  Tags tags;
  std::vector<std::string> delete_tags;
};
struct QueryRequest {
  QueryParams params;
  bool payload_nil = true;  // Go distinguishes a nil payload (c0) from an empty one
};
struct RespondRequest {
  uint64_t id = 0;
  Bytes payload;
};
struct CoordinateRequest {
  std::string node;
};

void write(mp::Writer& w, const HandshakeRequest& r);
void write(mp::Writer& w, const AuthRequest& r);
void write(mp::Writer& w, const EventRequest& r);
void write(mp::Writer& w, const ForceLeaveRequest& r);
void write(mp::Writer& w, const JoinRequest& r);
void write(mp::Writer& w, const MembersFilteredRequest& r);
void write(mp::Writer& w, const KeyRequest& r);
void write(mp::Writer& w, const MonitorRequest& r);
void write(mp::Writer& w, const StreamRequest& r);
void write(mp::Writer& w, const StopRequest& r);
void write(mp::Writer& w, const TagsRequest& r);
void write(mp::Writer& w, const QueryRequest& r);
void write(mp::Writer& w, const RespondRequest& r);
void write(mp::Writer& w, const CoordinateRequest& r);

HandshakeRequest read_handshake(const mp::Value& v);
AuthRequest read_auth(const mp::Value& v);
EventRequest read_event(const mp::Value& v);
ForceLeaveRequest read_force_leave(const mp::Value& v);
JoinRequest read_join(const mp::Value& v);
MembersFilteredRequest read_members_filtered(const mp::Value& v);
KeyRequest read_key(const mp::Value& v);
MonitorRequest read_monitor(const mp::Value& v);
StreamRequest read_stream(const mp::Value& v);
StopRequest read_stop(const mp::Value& v);
TagsRequest read_tags(const mp::Value& v);
QueryRequest read_query(const mp::Value& v);
RespondRequest read_respond(const mp::Value& v);
CoordinateRequest read_coordinate_request(const mp::Value& v);

// ---- reply bodies and stream records ----
void write_member(mp::Writer& w, const MemberInfo& m);
MemberInfo read_member(const mp::Value& v);
void write_members(mp::Writer& w, const std::vector<MemberInfo>& members);  // {Members: [...]}
std::vector<MemberInfo> read_members(const mp::Value& v);

void write_join_response(mp::Writer& w, int32_t num);  // {Num}
int32_t read_join_response(const mp::Value& v);

// {Keys, Messages, NumErr, NumNodes, NumResp}; Keys is nil unless `with_keys` (list-keys).
void write_key_response(mp::Writer& w, const KeyResult& r, bool with_keys);
KeyResult read_key_response(const mp::Value& v);

// {Coord: {Adjustment, Error, Height, Vec}, Ok}; an unknown node gives a zero Coord, Vec nil.
void write_coordinate_response(mp::Writer& w, const std::optional<Coordinate>& c);
std::optional<Coordinate> read_coordinate_response(const mp::Value& v);

using Stats = std::map<std::string, std::map<std::string, std::string>>;
void write_stats(mp::Writer& w, const Stats& s);
Stats read_stats(const mp::Value& v);

void write_event_record(mp::Writer& w, const Event& e, uint64_t query_id);
void write_query_record(mp::Writer& w, std::string_view type, std::string_view from,
                        const Bytes& payload);                // {From, Payload, Type}
void write_log_record(mp::Writer& w, std::string_view line);  // {Log}

// Reads a map[string]string / []string leniently (nil gives empty).
Tags read_string_map(const mp::Value& v);
std::vector<std::string> read_string_list(const mp::Value& v);

}  // namespace kc::serf_client::proto
