// memberlist's AES-GCM message encryption (docs/wire.md, "Encryption"): blob = vsn | nonce(12) |
// ciphertext | tag(16). Version 1 encrypts the message as is; legacy version 0 adds PKCS#7
// padding first. The key length selects AES-128/192/256.
//   UDP: the whole datagram is the blob, no AAD.
//   TCP: 0a | u32 BE length | blob, with the 5 header bytes as AAD.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "agent/gossip/crypto/keyring.h"

namespace kc::gossip {

using GcmNonce = std::array<uint8_t, 12>;

inline constexpr uint8_t kEncryptionVersion = 1;             // what serf 0.9.4 sends
inline constexpr uint8_t kEncryptMsgType = 10;               // TCP frame type byte
inline constexpr size_t kStreamFrameHeaderSize = 5;          // 0a | u32 BE length
inline constexpr uint32_t kMaxStreamFrameBytes = 20u << 20;  // memberlist maxPushStateBytes

// Most bytes encryption adds for a version (memberlist encryptOverhead): 29 (v1) / 45 (v0).
size_t encrypt_overhead(uint8_t vsn);
// Exact blob size for a plaintext of `plain_size` bytes (memberlist encryptedLength).
size_t encrypted_length(uint8_t vsn, size_t plain_size);

// encryptPayload. The nonce is random unless one is given (only tests fix it).
// Throws std::invalid_argument for a key that is not 16/24/32 bytes or vsn > 1 — the keyring
// validates keys, so that is a programming error — and std::runtime_error if OpenSSL fails.
std::vector<uint8_t> encrypt_payload(uint8_t vsn, std::span<const uint8_t> key,
                                     std::span<const uint8_t> plaintext,
                                     std::span<const uint8_t> aad,
                                     const std::optional<GcmNonce>& nonce = std::nullopt);

// decryptPayload: tries every key in ring order (primary first). nullopt when the blob is
// empty, has a version > 1, is shorter than the version's minimum (29 / 45), no key
// authenticates it, or (v0) the padding byte exceeds the plaintext.
std::optional<std::vector<uint8_t>> decrypt_payload(const Keyring& ring,
                                                    std::span<const uint8_t> blob,
                                                    std::span<const uint8_t> aad);

// UDP: the datagram is the blob (no type byte, no AAD).
std::vector<uint8_t> encrypt_udp(std::span<const uint8_t> key, std::span<const uint8_t> plaintext,
                                 uint8_t vsn = kEncryptionVersion,
                                 const std::optional<GcmNonce>& nonce = std::nullopt);
// Same with the ring's primary key (what memberlist sends); throws std::invalid_argument
// when the ring is empty.
std::vector<uint8_t> encrypt_udp(const Keyring& ring, std::span<const uint8_t> plaintext,
                                 uint8_t vsn = kEncryptionVersion);
std::optional<std::vector<uint8_t>> decrypt_udp(const Keyring& ring,
                                                std::span<const uint8_t> datagram);

// TCP: the whole frame 0a | L | blob, AAD = the first 5 bytes (encryptLocalState).
std::vector<uint8_t> encrypt_stream_frame(std::span<const uint8_t> key,
                                          std::span<const uint8_t> plaintext,
                                          uint8_t vsn = kEncryptionVersion,
                                          const std::optional<GcmNonce>& nonce = std::nullopt);
std::vector<uint8_t> encrypt_stream_frame(const Keyring& ring, std::span<const uint8_t> plaintext,
                                          uint8_t vsn = kEncryptionVersion);

// The blob length L announced by a frame header; nullopt unless header5 is 5 bytes starting
// with 0a and L <= kMaxStreamFrameBytes (Go: "Remote node state is larger than limit").
std::optional<uint32_t> stream_frame_length(std::span<const uint8_t> header5);

// decryptRemoteState: header5 = 0a | L as read from the stream, blob = the L bytes after it.
// nullopt when the header is invalid, L != blob.size(), or decrypt_payload fails.
std::optional<std::vector<uint8_t>> decrypt_stream_frame(const Keyring& ring,
                                                         std::span<const uint8_t> header5,
                                                         std::span<const uint8_t> blob);

}  // namespace kc::gossip
