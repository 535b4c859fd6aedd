// One row of memberlist's member table, packed: what Node holds, in 56 bytes and no heap of
// its own. The name and metadata are Interned (shared with every other table, broadcast and
// timer that names the member), the IP sits in a fixed 16-byte array with its length, and
// state, port and versions are small fields. Node, the public value type, is built from it
// on demand (members(), find(), the delegates' callbacks).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "agent/gossip/interned.h"
#include "agent/gossip/types.h"

namespace kc::gossip {

struct MemberEntry {
  Interned name;
  Interned meta;
  TimePoint state_change{};
  uint32_t incarnation = 0;
  uint16_t port = 0;
  uint8_t ip_len = 0;  // 4 or 16 (addresses of any other length are refused when decoded)
  NodeState state = NodeState::Dead;
  std::array<uint8_t, 16> ip{};
  Vsn vsn = kDefaultVsn;

  Address addr() const { return Address{Bytes(ip.begin(), ip.begin() + ip_len), port}; }
  std::span<const uint8_t> ip_bytes() const { return {ip.data(), ip_len}; }
  bool has_addr(std::span<const uint8_t> other_ip, uint16_t other_port) const {
    return port == other_port && std::ranges::equal(ip_bytes(), other_ip);
  }
  void set_addr(std::span<const uint8_t> new_ip, uint16_t new_port) {
    ip_len = uint8_t(std::min(new_ip.size(), ip.size()));
    ip.fill(0);
    std::copy_n(new_ip.begin(), ip_len, ip.begin());
    port = new_port;
  }
  bool meta_is(std::span<const uint8_t> other) const {
    return std::ranges::equal(meta.bytes(), other);
  }
  Bytes meta_bytes() const { return Bytes(meta.bytes().begin(), meta.bytes().end()); }
  Bytes vsn_bytes() const { return Bytes(vsn.begin(), vsn.end()); }
  uint8_t pmax() const { return vsn[1]; }

  Node to_node() const {
    return Node{name.str(), addr(), meta_bytes(), vsn, incarnation, state, state_change};
  }
};

}  // namespace kc::gossip
