#include "agent/gossip/compound.h"

#include <stdexcept>

namespace kc::gossip {

Bytes make_compound(const std::vector<Bytes>& parts) {
  if (parts.size() > 255) throw std::invalid_argument("compound: more than 255 parts");
  Bytes out;
  out.push_back(7);
  out.push_back(static_cast<uint8_t>(parts.size()));
  for (auto& p : parts) {
    out.push_back(static_cast<uint8_t>(p.size() >> 8));
    out.push_back(static_cast<uint8_t>(p.size()));
  }
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::optional<CompoundParts> split_compound(std::span<const uint8_t> body) {
  if (body.empty()) return std::nullopt;
  size_t n = body[0];
  if (body.size() < 1 + 2 * n) return std::nullopt;
  CompoundParts out;
  size_t offset = 1 + 2 * n;
  for (size_t i = 0; i < n; ++i) {
    size_t len = (size_t(body[1 + 2 * i]) << 8) | body[2 + 2 * i];
    if (offset + len > body.size()) {
      out.truncated = true;
      break;
    }
    out.parts.push_back(body.subspan(offset, len));
    offset += len;
  }
  return out;
}

}  // namespace kc::gossip
