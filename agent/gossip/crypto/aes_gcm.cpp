#include "agent/gossip/crypto/aes_gcm.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <stdexcept>

namespace kc::gossip {
namespace {

constexpr size_t kVersionSize = 1;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kBlockSize = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const EVP_CIPHER* cipher_for(size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    case 32:
      return EVP_aes_256_gcm();
    default:
      return nullptr;
  }
}

// OpenSSL lengths are ints; memberlist messages are far smaller, but never let a huge span
// wrap around.
bool fits_int(size_t n) {
  return n <= static_cast<size_t>(INT_MAX);
}

// Appends ciphertext | tag to `out`. Returns false on any OpenSSL failure.
bool seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
          std::span<const uint8_t> plain, std::span<const uint8_t> aad, std::vector<uint8_t>& out) {
  const EVP_CIPHER* cipher = cipher_for(key.size());
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx || !fits_int(plain.size()) || !fits_int(aad.size())) return false;
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1)
    return false;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    return false;
  const size_t start = out.size();
  out.resize(start + plain.size() + kTagSize);
  int written = 0;
  if (!plain.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), out.data() + start, &written, plain.data(),
                          static_cast<int>(plain.size())) != 1)
      return false;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + start + written, &len) != 1) return false;
  written += len;
  if (static_cast<size_t>(written) != plain.size()) return false;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                             out.data() + start + plain.size()) == 1;
}

// GCM open of ciphertext | tag; nullopt when the tag does not authenticate.
std::optional<std::vector<uint8_t>> open(std::span<const uint8_t> key,
                                         std::span<const uint8_t> nonce,
                                         std::span<const uint8_t> sealed,
                                         std::span<const uint8_t> aad) {
  const EVP_CIPHER* cipher = cipher_for(key.size());
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx || sealed.size() < kTagSize || !fits_int(sealed.size()) ||
      !fits_int(aad.size()))
    return std::nullopt;
  auto ciphertext = sealed.first(sealed.size() - kTagSize);
  std::array<uint8_t, kTagSize> tag;
  std::copy(sealed.end() - kTagSize, sealed.end(), tag.begin());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1)
    return std::nullopt;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    return std::nullopt;
  std::vector<uint8_t> plain(ciphertext.size());
  int written = 0;
  if (!ciphertext.empty() && EVP_DecryptUpdate(ctx.get(), plain.data(), &written, ciphertext.data(),
                                               static_cast<int>(ciphertext.size())) != 1)
    return std::nullopt;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + written, &len) != 1)
    return std::nullopt;
  plain.resize(static_cast<size_t>(written) + static_cast<size_t>(len));
  return plain;
}

}  // namespace

size_t encrypt_overhead(uint8_t vsn) {
  return vsn == 0 ? kVersionSize + kNonceSize + kBlockSize + kTagSize
                  : kVersionSize + kNonceSize + kTagSize;
}

size_t encrypted_length(uint8_t vsn, size_t plain_size) {
  if (vsn >= 1) return kVersionSize + kNonceSize + plain_size + kTagSize;
  // PKCS#7 always pads, a whole block when already aligned.
  return kVersionSize + kNonceSize + plain_size + (kBlockSize - plain_size % kBlockSize) + kTagSize;
}

std::vector<uint8_t> encrypt_payload(uint8_t vsn, std::span<const uint8_t> key,
                                     std::span<const uint8_t> plaintext,
                                     std::span<const uint8_t> aad,
                                     const std::optional<GcmNonce>& nonce) {
  if (vsn > 1) throw std::invalid_argument("unsupported encryption version");
  if (!cipher_for(key.size())) throw std::invalid_argument("key size must be 16, 24 or 32 bytes");
  GcmNonce iv{};
  if (nonce) {
    iv = *nonce;
  } else if (RAND_bytes(iv.data(), static_cast<int>(iv.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::vector<uint8_t> out;
  out.reserve(encrypted_length(vsn, plaintext.size()));
  out.push_back(vsn);
  out.insert(out.end(), iv.begin(), iv.end());
  std::vector<uint8_t> padded;
  if (vsn == 0) {
    const size_t pad = kBlockSize - plaintext.size() % kBlockSize;
    padded.reserve(plaintext.size() + pad);
    padded.assign(plaintext.begin(), plaintext.end());
    padded.insert(padded.end(), pad, static_cast<uint8_t>(pad));
    plaintext = padded;
  }
  if (!seal(key, iv, plaintext, aad, out)) throw std::runtime_error("AES-GCM encryption failed");
  return out;
}

std::optional<std::vector<uint8_t>> decrypt_payload(const Keyring& ring,
                                                    std::span<const uint8_t> blob,
                                                    std::span<const uint8_t> aad) {
  if (blob.empty()) return std::nullopt;
  const uint8_t vsn = blob[0];
  if (vsn > 1) return std::nullopt;
  if (blob.size() < encrypted_length(vsn, 0)) return std::nullopt;
  auto nonce = blob.subspan(kVersionSize, kNonceSize);
  auto sealed = blob.subspan(kVersionSize + kNonceSize);
  for (const auto& key : ring.keys()) {
    auto plain = open(key, nonce, sealed, aad);
    if (!plain) continue;
    if (vsn == 0) {
      // Go trims `last byte` bytes without validating them; a pad larger than the plaintext
      // would make Go panic, we drop the message instead.
      const size_t pad = plain->empty() ? 1 : plain->back();
      if (pad > plain->size()) return std::nullopt;
      plain->resize(plain->size() - pad);
    }
    return plain;
  }
  return std::nullopt;
}

std::vector<uint8_t> encrypt_udp(std::span<const uint8_t> key, std::span<const uint8_t> plaintext,
                                 uint8_t vsn, const std::optional<GcmNonce>& nonce) {
  return encrypt_payload(vsn, key, plaintext, {}, nonce);
}

std::vector<uint8_t> encrypt_udp(const Keyring& ring, std::span<const uint8_t> plaintext,
                                 uint8_t vsn) {
  return encrypt_payload(vsn, ring.primary(), plaintext, {});
}

std::optional<std::vector<uint8_t>> decrypt_udp(const Keyring& ring,
                                                std::span<const uint8_t> datagram) {
  return decrypt_payload(ring, datagram, {});
}

std::vector<uint8_t> encrypt_stream_frame(std::span<const uint8_t> key,
                                          std::span<const uint8_t> plaintext, uint8_t vsn,
                                          const std::optional<GcmNonce>& nonce) {
  const size_t length = encrypted_length(vsn, plaintext.size());
  if (length > UINT32_MAX) throw std::invalid_argument("stream frame too large");
  std::array<uint8_t, kStreamFrameHeaderSize> header{kEncryptMsgType};
  for (size_t i = 0; i < 4; ++i) header[1 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  auto blob = encrypt_payload(vsn, key, plaintext, header, nonce);
  // Sized once and copied into (not reserve + insert): GCC 12 at -O3 reports a false
  // -Wstringop-overflow for the insert of a std::array into an empty vector.
  std::vector<uint8_t> out(header.size() + blob.size());
  std::copy(header.begin(), header.end(), out.begin());
  std::copy(blob.begin(), blob.end(), out.begin() + header.size());
  return out;
}

std::vector<uint8_t> encrypt_stream_frame(const Keyring& ring, std::span<const uint8_t> plaintext,
                                          uint8_t vsn) {
  return encrypt_stream_frame(ring.primary(), plaintext, vsn);
}

std::optional<uint32_t> stream_frame_length(std::span<const uint8_t> header5) {
  if (header5.size() != kStreamFrameHeaderSize || header5[0] != kEncryptMsgType)
    return std::nullopt;
  const uint32_t length = static_cast<uint32_t>(header5[1]) << 24 |
                          static_cast<uint32_t>(header5[2]) << 16 |
                          static_cast<uint32_t>(header5[3]) << 8 | header5[4];
  if (length > kMaxStreamFrameBytes) return std::nullopt;
  return length;
}

std::optional<std::vector<uint8_t>> decrypt_stream_frame(const Keyring& ring,
                                                         std::span<const uint8_t> header5,
                                                         std::span<const uint8_t> blob) {
  auto length = stream_frame_length(header5);
  if (!length || *length != blob.size()) return std::nullopt;
  return decrypt_payload(ring, blob, header5);
}

}  // namespace kc::gossip
