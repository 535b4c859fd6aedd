#include "agent/gossip/envelope.h"

#include "agent/gossip/codec/crc.h"
#include "agent/gossip/codec/lzw.h"
#include "agent/gossip/crypto/aes_gcm.h"
#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/messages.h"
#include "agent/gossip/stream_framer.h"
#include "common/msgpack/reader.h"

namespace kc::gossip {

bool Envelope::encrypted() const {
  return keyring_ && !keyring_->empty();
}

size_t Envelope::packet_overhead() const {
  return encrypted() ? 29 : 0;
}

Bytes compress_message(std::span<const uint8_t> msg) {
  return encode(Compress{0, lzw_compress(msg)});
}

std::optional<Bytes> decompress_message(std::span<const uint8_t> body, size_t max_output) {
  try {
    auto c = decode_compress(mp::Document::parse(body).root());
    if (c.algo != 0) return std::nullopt;
    auto out = lzw_decompress(c.buf, max_output);
    if (!out || out->empty()) return std::nullopt;
    return out;
  } catch (const mp::DecodeError&) {
    return std::nullopt;
  }
}

Bytes Envelope::seal_packet(Bytes msg, bool crc) const {
  if (compression_) {
    Bytes compressed = compress_message(msg);
    if (compressed.size() < msg.size()) msg = std::move(compressed);
  }
  if (crc) msg = wrap_crc(msg);
  if (encrypted()) msg = encrypt_udp(keyring_->primary(), msg);
  return msg;
}

std::optional<Bytes> Envelope::open_packet(std::span<const uint8_t> datagram,
                                           std::string& why) const {
  Bytes plain;
  if (encrypted()) {
    auto decrypted = decrypt_udp(*keyring_, datagram);
    if (!decrypted) {
      why = "no installed keys could decrypt the message";
      return std::nullopt;
    }
    plain = std::move(*decrypted);
  } else {
    plain.assign(datagram.begin(), datagram.end());
  }
  if (!plain.empty() && plain[0] == static_cast<uint8_t>(MsgType::HasCrc)) {
    auto inner = unwrap_crc(plain);
    if (!inner) {
      why = "bad CRC";
      return std::nullopt;
    }
    plain = Bytes(inner->begin(), inner->end());
  }
  if (plain.empty()) {
    why = "empty message";
    return std::nullopt;
  }
  return plain;
}

Bytes Envelope::seal_stream(const Bytes& msg) const {
  Bytes out = compression_ ? compress_message(msg) : msg;
  if (encrypted()) out = encrypt_stream_frame(keyring_->primary(), out);
  return out;
}

std::optional<Bytes> Envelope::open_stream(std::span<const uint8_t> data, std::string& why) const {
  if (data.empty()) {
    why = "empty stream";
    return std::nullopt;
  }
  Bytes plain;
  if (data[0] == static_cast<uint8_t>(MsgType::Encrypt)) {
    if (!encrypted()) {
      why = "Remote state is encrypted and encryption is not configured";
      return std::nullopt;
    }
    if (data.size() < 5) {
      why = "truncated encrypted frame";
      return std::nullopt;
    }
    auto decrypted = decrypt_stream_frame(*keyring_, data.subspan(0, 5), data.subspan(5));
    if (!decrypted) {
      why = "no installed keys could decrypt the stream";
      return std::nullopt;
    }
    plain = std::move(*decrypted);
  } else if (encrypted()) {
    why = "Encryption is configured but remote state is not encrypted";
    return std::nullopt;
  } else {
    plain.assign(data.begin(), data.end());
  }
  if (!plain.empty() && plain[0] == static_cast<uint8_t>(MsgType::Compress)) {
    auto inflated = decompress_message(std::span(plain).subspan(1), kMaxStreamBytes);
    if (!inflated) {
      why = "failed to decompress stream";
      return std::nullopt;
    }
    plain = std::move(*inflated);
  }
  if (plain.empty()) {
    why = "empty stream message";
    return std::nullopt;
  }
  return plain;
}

std::optional<size_t> stream_message_length(std::span<const uint8_t> data) {
  StreamFramer framer;
  return framer.length(data);
}

}  // namespace kc::gossip
