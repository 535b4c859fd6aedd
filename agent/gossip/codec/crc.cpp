#include "agent/gossip/codec/crc.h"

#include <zlib.h>

namespace kc::gossip {
namespace {
constexpr uint8_t kHasCrcType = 12;
constexpr size_t kHeaderSize = 5;
}  // namespace

uint32_t crc32_ieee(std::span<const uint8_t> data) {
  // crc32_z takes a size_t length, so spans beyond 4 GiB are not truncated; a null buffer
  // (empty span) yields the initial value 0, the CRC of nothing.
  return static_cast<uint32_t>(crc32_z(0, data.data(), data.size()));
}

std::vector<uint8_t> wrap_crc(std::span<const uint8_t> inner) {
  const uint32_t crc = crc32_ieee(inner);
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + inner.size());
  out.push_back(kHasCrcType);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(crc >> shift));
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

std::optional<std::span<const uint8_t>> unwrap_crc(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize || packet[0] != kHasCrcType) return std::nullopt;
  const uint32_t expected = static_cast<uint32_t>(packet[1]) << 24 |
                            static_cast<uint32_t>(packet[2]) << 16 |
                            static_cast<uint32_t>(packet[3]) << 8 | packet[4];
  auto inner = packet.subspan(kHeaderSize);
  if (crc32_ieee(inner) != expected) return std::nullopt;
  return inner;
}

}  // namespace kc::gossip
