// memberlist message bodies (docs/wire.md, "memberlist messages") with Go-exact encoding (keys
// sorted by field name, smallest ints, raw strings) and lenient decoding.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent/gossip/types.h"
#include "common/msgpack/reader.h"

namespace kc::gossip {

// An address field that is not a 4- or 16-byte IP: the message is refused (and counted as
// a bad_address drop) where it is decoded, so no handler ever holds an unsendable address.
class BadAddressError : public mp::DecodeError {
 public:
  using mp::DecodeError::DecodeError;
};

// The bytes of msgpack field `key` as an IP; empty is accepted only when `optional`.
Bytes decode_ip(const mp::Value& v, const char* key, bool optional);

enum class MsgType : uint8_t {
  Ping = 0,
  IndirectPing = 1,
  Ack = 2,
  Suspect = 3,
  Alive = 4,
  Dead = 5,
  PushPull = 6,
  Compound = 7,
  User = 8,
  Compress = 9,
  Encrypt = 10,
  Nack = 11,
  HasCrc = 12,
  Err = 13,
};

// Lower-case names for metrics labels and logs ("indirect_ping", "push_pull", ...).
const char* to_string(MsgType t);

struct Ping {
  uint32_t seq_no = 0;
  std::string node;
  Bytes source_addr;  // omitempty
  uint16_t source_port = 0;
  std::string source_node;
};

struct IndirectPing {
  uint32_t seq_no = 0;
  Bytes target;
  uint16_t port = 0;
  std::string node;
  bool nack = false;
  Bytes source_addr;
  uint16_t source_port = 0;
  std::string source_node;
};

struct Ack {
  uint32_t seq_no = 0;
  Bytes payload;  // empty → nil
};

struct Nack {
  uint32_t seq_no = 0;
};

struct Suspect {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;
};

struct Alive {
  uint32_t incarnation = 0;
  std::string node;
  Bytes addr;
  uint16_t port = 0;
  Bytes meta;  // empty → nil
  Bytes vsn;   // 6 bytes normally
};

struct Dead {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;
};

struct ErrResp {
  std::string error;
};

struct PushPullHeader {
  int64_t nodes = 0;
  int64_t user_state_len = 0;
  bool join = false;
};

struct PushNodeState {
  std::string name;
  Bytes addr;
  uint16_t port = 0;
  Bytes meta;
  uint32_t incarnation = 0;
  NodeState state = NodeState::Alive;
  Bytes vsn;
};

// Alive and PushNodeState as views into a received message (or into the owning struct): what
// the member table reads from them, so the alive of every member that every member hears
// several times while a cluster forms, and each node of a push/pull, cost no allocation.
// Views into a message are valid while that message's bytes live.
struct AliveView {
  uint32_t incarnation = 0;
  std::string_view node;
  std::span<const uint8_t> addr;
  uint16_t port = 0;
  std::span<const uint8_t> meta;
  std::span<const uint8_t> vsn;
};

struct PushNodeStateView {
  std::string_view name;
  std::span<const uint8_t> addr;
  uint16_t port = 0;
  std::span<const uint8_t> meta;
  uint32_t incarnation = 0;
  NodeState state = NodeState::Alive;
  std::span<const uint8_t> vsn;
};

AliveView view_of(const Alive& m);
PushNodeStateView view_of(const PushNodeState& m);

// Where a view decoder keeps a byte field sent as an array of integers (a form the lenient
// decoding accepts but that has no bytes to point at); a deque, so earlier fields stay put.
using ByteSpill = std::deque<Bytes>;

struct Compress {
  uint8_t algo = 0;
  Bytes buf;
};

struct UserMsgHeader {
  int64_t user_msg_len = 0;
};

// Encoders append the type byte (where the message has one) and the msgpack body.
Bytes encode(const Ping& m);
Bytes encode(const IndirectPing& m);
Bytes encode(const Ack& m);
Bytes encode(const Nack& m);
Bytes encode(const Suspect& m);
Bytes encode(const Alive& m);
Bytes encode(const AliveView& m);
Bytes encode(const Dead& m);
Bytes encode(const ErrResp& m);
Bytes encode(const Compress& m);
// Bodies without a type byte (push/pull pieces).
void encode_body(Bytes& out, const PushPullHeader& m);
void encode_body(Bytes& out, const PushNodeState& m);
void encode_body(Bytes& out, const PushNodeStateView& m);
void encode_body(Bytes& out, const UserMsgHeader& m);

// Decoders take the msgpack value of the body; throw kc::mp::DecodeError (BadAddressError
// for an address that is not a 4- or 16-byte IP).
Ping decode_ping(const mp::Value& v);
IndirectPing decode_indirect_ping(const mp::Value& v);
Ack decode_ack(const mp::Value& v);
Nack decode_nack(const mp::Value& v);
Suspect decode_suspect(const mp::Value& v);
Alive decode_alive(const mp::Value& v);
AliveView decode_alive_view(const mp::Value& v, ByteSpill& spill);
Dead decode_dead(const mp::Value& v);
ErrResp decode_err(const mp::Value& v);
Compress decode_compress(const mp::Value& v);
PushPullHeader decode_push_pull_header(const mp::Value& v);
PushNodeState decode_push_node_state(const mp::Value& v);
PushNodeStateView decode_push_node_state_view(const mp::Value& v, ByteSpill& spill);
UserMsgHeader decode_user_msg_header(const mp::Value& v);

}  // namespace kc::gossip
