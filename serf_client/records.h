// The records serf's agent RPC carries (members, keys, coordinates, queries, events): what
// a client gets back and what the agent's RPC server sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace kc::serf_client {

using Bytes = std::vector<uint8_t>;
using Tags = std::map<std::string, std::string>;
// An error as serf puts it on the wire: "" means success.
using Error = std::string;

// A member as the RPC `Member` record carries it (docs/wire.md, "The agent RPC").
struct MemberInfo {
  std::string name;
  Bytes addr;  // net.IP: 4 bytes for IPv4, 16 for IPv6
  uint16_t port = 0;
  Tags tags;
  std::string status;  // "alive", "leaving", "left", "failed" (or "none")
  // Memberlist protocol range and current version, then the delegate (Serf) ones.
  uint8_t protocol_min = 1, protocol_max = 5, protocol_cur = 2;
  uint8_t delegate_min = 2, delegate_max = 5, delegate_cur = 5;
};

// Outcome of a cluster-wide key operation (serf.KeyResponse).
struct KeyResult {
  Error error;
  std::map<std::string, std::string> messages;  // node name -> message (failures, notes)
  std::map<std::string, int> keys;              // list only: base64 key -> nodes having it
  int num_nodes = 0;
  int num_resp = 0;
  int num_err = 0;
};

enum class KeyOp { Install, Use, Remove, List };

// A Vivaldi network coordinate (serf/coordinate.Coordinate).
struct Coordinate {
  std::vector<double> vec;
  double error = 0;
  double adjustment = 0;
  double height = 0;
};

struct QueryParams {
  std::vector<std::string> filter_nodes;
  Tags filter_tags;  // tag -> regex
  bool request_ack = false;
  uint8_t relay_factor = 0;
  std::chrono::nanoseconds timeout{0};  // 0 = serf's default for the cluster size
  std::string name;
  Bytes payload;
};

// One ack or response to a query this agent started.
struct QueryRecord {
  enum class Type { Ack, Response } type = Type::Ack;
  std::string from;
  Bytes payload;  // responses only
};

// Events delivered to `stream` subscribers (what serf's agent gives its event handlers).
struct MemberEvent {
  std::string
      type;  // "member-join", "member-leave", "member-failed", "member-update", "member-reap"
  std::vector<MemberInfo> members;
};
struct UserEvent {
  uint64_t ltime = 0;
  std::string name;
  Bytes payload;
  bool coalesce = false;
};
struct QueryEvent {
  uint64_t ltime = 0;
  std::string name;
  Bytes payload;
  uint64_t handle = 0;  // the agent's id for respond(); opaque to the server
  std::chrono::steady_clock::time_point deadline;  // after it, respond() is refused
};
using Event = std::variant<MemberEvent, UserEvent, QueryEvent>;

}  // namespace kc::serf_client
