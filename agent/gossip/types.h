// Basic gossip types: addresses, node states, protocol versions.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kc::gossip {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

// An IP (4 bytes for IPv4, as Go puts it on the wire, or 16 for IPv6) and a port.
struct Address {
  Bytes ip;
  uint16_t port = 0;

  static Address parse(const std::string& host_port);  // "1.2.3.4:7946", "[::1]:7946"; throws
  std::string ip_string() const;
  std::string to_string() const;  // "1.2.3.4:7946"
  // Only these can be sent to; anything else read off the wire is refused where it is decoded.
  bool has_valid_ip() const { return ip.size() == 4 || ip.size() == 16; }
  // The IPv4 address of an IPv4-mapped IPv6 one (::ffff:a.b.c.d, Go's 16-byte form of an IPv4
  // address); any other address as it is.
  Address unmapped() const;
  // The same IP and port, whichever form (4 or 16 bytes) each carries an IPv4 address in. The
  // wire keeps the bytes as sent (Go compares them byte for byte when it merges state).
  bool same_endpoint(const Address& o) const { return unmapped() == o.unmapped(); }
  bool operator==(const Address&) const = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=> itself.
  auto operator<=>(const Address&) const = default;
};

enum class NodeState : uint8_t { Alive = 0, Suspect = 1, Dead = 2, Left = 3 };
const char* to_string(NodeState s);

// [pmin, pmax, pcur, dmin, dmax, dcur]; Go nodes advertise [1,5,2,2,5,5].
using Vsn = std::array<uint8_t, 6>;
inline constexpr Vsn kDefaultVsn = {1, 5, 2, 2, 5, 5};

// One member as memberlist sees it.
struct Node {
  std::string name;
  Address addr;
  Bytes meta;
  Vsn vsn = kDefaultVsn;
  uint32_t incarnation = 0;
  NodeState state = NodeState::Dead;
  TimePoint state_change{};

  uint8_t pmin() const { return vsn[0]; }
  uint8_t pmax() const { return vsn[1]; }
  uint8_t pcur() const { return vsn[2]; }
  uint8_t dmin() const { return vsn[3]; }
  uint8_t dmax() const { return vsn[4]; }
  uint8_t dcur() const { return vsn[5]; }
};

}  // namespace kc::gossip
