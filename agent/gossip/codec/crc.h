// memberlist's hasCrc message (type 12; docs/wire.md, "CRC"):
//   0c | crc32-IEEE(inner) as u32 big-endian | inner
// Added after compression and before encryption; only recognised at the outermost level.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kc::gossip {

// CRC-32/IEEE as zlib's crc32 and Go's crc32.ChecksumIEEE.
uint32_t crc32_ieee(std::span<const uint8_t> data);

// 0c | crc BE | inner.
std::vector<uint8_t> wrap_crc(std::span<const uint8_t> inner);

// The inner message (a view into `packet`) when packet is a hasCrc message whose checksum
// matches; nullopt when it is shorter than the 5-byte header, does not start with 0c, or the
// checksum differs (Go drops the packet). The inner view may be empty: callers must not
// dispatch an empty message.
std::optional<std::span<const uint8_t>> unwrap_crc(std::span<const uint8_t> packet);

}  // namespace kc::gossip
