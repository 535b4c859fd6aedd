// Compound messages (type 7): several messages in one datagram (docs/wire.md, "Compound").
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "agent/gossip/types.h"

namespace kc::gossip {

// 07 | count u8 | u16 BE lengths | parts. At most 255 parts; callers split larger batches.
Bytes make_compound(const std::vector<Bytes>& parts);

struct CompoundParts {
  std::vector<std::span<const uint8_t>> parts;
  bool truncated = false;  // the buffer ended before the declared parts: complete ones kept
};

// `body` is what follows the 07 type byte. nullopt when even the header is short.
std::optional<CompoundParts> split_compound(std::span<const uint8_t> body);

// Per-message overhead inside a compound (length field) and the compound header.
inline constexpr size_t kCompoundHeaderOverhead = 2;
inline constexpr size_t kCompoundOverhead = 2;

}  // namespace kc::gossip
