// Why the gossip core threw something away. Every drop of hostile or broken input is counted
// by reason (kong_cluster_gossip_drops_total{reason}) instead of crashing or going unnoticed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kc::gossip {

enum class DropReason : uint8_t {
  HandlerError,    // a handler threw something other than a decode error (caught at the boundary)
  BadAddress,      // an address field that is not a 4- or 16-byte IP
  BadName,         // a member name with control characters
  CatchUpRefused,  // a catch-up push/pull refused: implausible pinger or over the rate limit
  StreamShed,      // an idle inbound TCP connection closed to make room for a new one
  StreamIdle,      // an inbound TCP connection that sent nothing for the read deadline
  Count,
};
inline constexpr size_t kDropReasons = static_cast<size_t>(DropReason::Count);

// Lower-case label values: "handler_error", "bad_address", ...
const char* to_string(DropReason r);

using DropCounts = std::array<uint64_t, kDropReasons>;

}  // namespace kc::gossip
