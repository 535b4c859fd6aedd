// libFuzzer target for the LZW codec (memberlist compress messages come straight from the
// network). Checks: decoding arbitrary bytes never crashes and respects the output limit,
// and compress -> decompress is the identity for arbitrary input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/gossip/codec/lzw.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  constexpr size_t kLimit = 1 << 20;

  if (auto out = kc::gossip::lzw_decompress(input, kLimit)) {
    if (out->size() > kLimit) __builtin_trap();
    // Whatever the peer sent, our re-encoding of the result must decode back to it.
    auto again = kc::gossip::lzw_decompress(kc::gossip::lzw_compress(*out), out->size());
    if (!again || *again != *out) __builtin_trap();
  }

  const std::vector<uint8_t> packed = kc::gossip::lzw_compress(input);
  auto back = kc::gossip::lzw_decompress(packed, size);
  if (!back || !std::equal(back->begin(), back->end(), input.begin(), input.end()))
    __builtin_trap();
  // One byte short of the output is always refused.
  if (size > 0 && kc::gossip::lzw_decompress(packed, size - 1)) __builtin_trap();
  return 0;
}
