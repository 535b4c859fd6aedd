// Serf's gossip messages (messages.go; docs/wire.md, "Serf messages"): each is one type byte
// followed by the msgpack map of its Go struct, keys in Go field-name order, encoded byte-for-byte
// as go-msgpack 0.5.5 does. Decoders take the body after the type byte, accept what Go accepts (any
// key order, unknown keys, nil for zero) and throw kc::mp::DecodeError otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/serf/lamport.h"
#include "agent/serf/member.h"

namespace kc::mp {
class Value;
class Writer;
}  // namespace kc::mp

namespace kc::serf {

enum class MessageType : uint8_t {
  Leave = 0,
  Join = 1,
  PushPull = 2,
  UserEvent = 3,
  Query = 4,
  QueryResponse = 5,
  ConflictResponse = 6,
  KeyRequest = 7,
  KeyResponse = 8,
  Relay = 9,
};

// Lower-case names for metrics labels ("user_event", "query_response", ...).
const char* to_string(MessageType t);

inline constexpr uint32_t kQueryFlagAck = 1;
inline constexpr uint32_t kQueryFlagNoBroadcast = 2;

enum class FilterType : uint8_t { Node = 0, Tag = 1 };

struct MessageJoin {
  LamportTime ltime = 0;
  std::string node;
};

struct MessageLeave {
  LamportTime ltime = 0;
  std::string node;
  bool prune = false;
};

// One user event as kept in the event ring (serf.go userEvent).
struct UserEventRecord {
  std::string name;
  Bytes payload;
  bool operator==(const UserEventRecord&) const = default;
};

// All events seen at one Lamport time (serf.go userEvents).
struct UserEventSlot {
  LamportTime ltime = 0;
  std::vector<UserEventRecord> events;
  bool operator==(const UserEventSlot&) const = default;
};

struct MessagePushPull {
  LamportTime ltime = 0;
  std::map<std::string, LamportTime> status_ltimes;
  std::vector<std::string> left_members;
  LamportTime event_ltime = 0;
  std::vector<std::optional<UserEventSlot>> events;  // the whole ring; nullopt = unused slot
  LamportTime query_ltime = 0;
};

struct MessageUserEvent {
  LamportTime ltime = 0;
  std::string name;
  Bytes payload;
  bool cc = false;  // "can coalesce"
};

// A query's Timeout off the wire is clamped to this (a day: far beyond any real query).
inline constexpr std::chrono::nanoseconds kMaxQueryTimeout = std::chrono::hours(24);

struct MessageQuery {
  LamportTime ltime = 0;
  uint32_t id = 0;
  Bytes addr;  // querier IP
  uint16_t port = 0;
  std::string source_node;
  std::vector<Bytes> filters;  // each: filter type byte + msgpack; empty → nil on the wire
  uint32_t flags = 0;
  uint8_t relay_factor = 0;
  std::chrono::nanoseconds timeout{0};
  std::string name;
  Bytes payload;

  bool ack() const { return (flags & kQueryFlagAck) != 0; }
  bool no_broadcast() const { return (flags & kQueryFlagNoBroadcast) != 0; }
};

struct MessageQueryResponse {
  LamportTime ltime = 0;
  uint32_t id = 0;
  std::string from;
  uint32_t flags = 0;
  Bytes payload;

  bool ack() const { return (flags & kQueryFlagAck) != 0; }
};

// Where a relay node forwards the rest of a relay message (net.UDPAddr + name).
struct RelayHeader {
  gossip::Address dest_addr;
  std::string dest_name;
};

struct FilterTag {
  std::string tag;
  std::string expr;
};

struct KeyRequest {
  Bytes key;
};

struct NodeKeyResponse {
  bool result = false;
  std::string message;
  std::optional<std::vector<std::string>> keys;  // nullopt → nil
  std::string primary_key;
};

// --- encoders: type byte + msgpack ---
Bytes encode(const MessageJoin& m);
Bytes encode(const MessageLeave& m);
Bytes encode(const MessagePushPull& m);
Bytes encode(const MessageUserEvent& m);
Bytes encode(const MessageQuery& m);
Bytes encode(const MessageQueryResponse& m);
Bytes encode(const KeyRequest& m);
Bytes encode(const NodeKeyResponse& m);
// 06 + serf.Member, or 06 c0 for an unknown node.
Bytes encode_conflict_response(const Member* m);
// 09 + relayHeader + <type byte + msgpack of the wrapped message>.
Bytes encode_relay(const RelayHeader& header, std::span<const uint8_t> inner_message);
// Filters: type byte + msgpack.
Bytes encode_node_filter(const std::vector<std::string>& nodes);
Bytes encode_tag_filter(const FilterTag& f);

// Msgpack of one struct without a type byte (a Member also appears inside other messages).
void write_member(mp::Writer& w, const Member& m);

// --- decoders: body after the type byte ---
MessageJoin decode_join(std::span<const uint8_t> body);
MessageLeave decode_leave(std::span<const uint8_t> body);
MessagePushPull decode_push_pull(std::span<const uint8_t> body);
MessageUserEvent decode_user_event(std::span<const uint8_t> body);
MessageQuery decode_query(std::span<const uint8_t> body);
MessageQueryResponse decode_query_response(std::span<const uint8_t> body);
KeyRequest decode_key_request(std::span<const uint8_t> body);
NodeKeyResponse decode_key_response(std::span<const uint8_t> body);
// nullopt for a nil member (the responder did not know the node).
std::optional<Member> decode_conflict_response(std::span<const uint8_t> body);
// The header, and the offset in `body` where the forwarded message starts.
RelayHeader decode_relay_header(std::span<const uint8_t> body, size_t& rest_offset);
std::vector<std::string> decode_node_filter(std::span<const uint8_t> body);
FilterTag decode_tag_filter(std::span<const uint8_t> body);

Member read_member(const mp::Value& r);

}  // namespace kc::serf
