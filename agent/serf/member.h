// A Serf member as Serf tracks it (serf.go Member / memberState) and its status enum, whose
// integer values travel in conflict responses (docs/wire.md, "Member status").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "agent/gossip/types.h"
#include "agent/serf/lamport.h"
#include "common/enum_names.h"

namespace kc::serf {

using Bytes = std::vector<uint8_t>;
using Tags = std::map<std::string, std::string>;

enum class MemberStatus : int { None = 0, Alive = 1, Leaving = 2, Left = 3, Failed = 4 };

// "none", "alive", "leaving", "left", "failed" (RPC and CLI strings).
inline const char* to_string(MemberStatus s) {
  static constexpr std::array<const char*, 5> kNames{"none", "alive", "leaving", "left", "failed"};
  static_assert(names_every_value(kNames, MemberStatus::Failed));
  return enum_name(s, kNames);
}

struct Member {
  std::string name;
  gossip::Address addr;  // IP (4 or 16 bytes) and memberlist port
  Tags tags;
  MemberStatus status = MemberStatus::None;
  // Memberlist protocol range and current version, then the delegate (Serf) ones.
  uint8_t protocol_min = 0;
  uint8_t protocol_max = 0;
  uint8_t protocol_cur = 0;
  uint8_t delegate_min = 0;
  uint8_t delegate_max = 0;
  uint8_t delegate_cur = 0;

  bool operator==(const Member&) const = default;
};

// Serf's bookkeeping around a member (memberState): the Lamport time of the last intent
// accepted for it, and when it left or failed (for reaping and flap detection).
struct MemberState {
  Member member;
  LamportTime status_ltime = 0;
  gossip::TimePoint leave_time{};
};

}  // namespace kc::serf
