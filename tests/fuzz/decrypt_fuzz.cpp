// libFuzzer target for AES-GCM decryption and CRC unwrapping (both see raw datagrams before
// anything is authenticated). The ring holds the keys of tests/vectors/encryption.txt so the
// seed corpus (made from those vectors) reaches the successful-decrypt paths.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/gossip/codec/crc.h"
#include "agent/gossip/crypto/aes_gcm.h"
#include "agent/gossip/crypto/keyring.h"

namespace {

const kc::gossip::Keyring& fuzz_ring() {
  static const kc::gossip::Keyring ring = [] {
    kc::gossip::Keyring r;
    std::vector<uint8_t> k128(16), k256(32), k192(24, 0x5a);
    for (size_t i = 0; i < k256.size(); ++i) k256[i] = static_cast<uint8_t>(i);
    std::copy_n(k256.begin(), 16, k128.begin());
    (void)r.add_key(k128);
    (void)r.add_key(k192);
    (void)r.add_key(k256);
    return r;
  }();
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const auto& ring = fuzz_ring();

  if (auto plain = kc::gossip::decrypt_udp(ring, input)) {
    if (plain->size() + kc::gossip::encrypt_overhead(1) > size) __builtin_trap();
    (void)kc::gossip::unwrap_crc(*plain);
  }
  if (size >= kc::gossip::kStreamFrameHeaderSize) {
    auto header = input.first(kc::gossip::kStreamFrameHeaderSize);
    auto blob = input.subspan(kc::gossip::kStreamFrameHeaderSize);
    (void)kc::gossip::stream_frame_length(header);
    (void)kc::gossip::decrypt_stream_frame(ring, header, blob);
  }
  (void)kc::gossip::unwrap_crc(input);

  // Round trip with every key; flipping any authenticated byte must be detected.
  for (const auto& key : ring.keys()) {
    auto sealed = kc::gossip::encrypt_udp(key, input);
    auto opened = kc::gossip::decrypt_udp(ring, sealed);
    if (!opened || !std::equal(opened->begin(), opened->end(), input.begin(), input.end()))
      __builtin_trap();
    const size_t at = 1 + (size > 0 ? data[0] : 0) % (sealed.size() - 1);
    sealed[at] ^= 0x01;
    if (kc::gossip::decrypt_udp(ring, sealed)) __builtin_trap();
  }
  return 0;
}
